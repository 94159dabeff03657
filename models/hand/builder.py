"""Generates the open hand model `weights/handstream_hand_right.pkl` deterministically (our own, Apache-2.0).

    python -m models.hand.builder --out weights/handstream_hand_right.pkl

Steps: implicit hand surface -> surface nets -> Taubin smoothing + quadric decimation (Open3D) -> even vertex
spacing on the surface -> skinning weights, fingertips, shape samples -> shapedirs (PCA), joint regressor (NNLS)
-> 45-D pose PCA from the pose prior.
posedirs are pose correctives fitted over whole-hand poses to the implicit hand posed bone by bone, starting from
single-joint ones that keep bent joints round (`models.hand.correctives`, `models.hand.rig.pose_correctives`).
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter, map_coordinates

from models.hand import rig as hand_rig
from models.hand.correctives import CorrectiveOptions, fit_correctives, fit_pose_set
from models.hand.file import write_hand_file
from models.hand.refine import RefineOptions, extend_shapedirs, fit_added_correctives, refine_folds
from models.hand.skeleton import PARENTS
from models.hand.surface import hand_sdf, relax_on_surface, surface_nets
from models.pose_prior import sample_poses
from models.shipped import shipped_file

MODEL_NAME = "handstream open hand (right)"
MODEL_VERSION = "1.4"
DEFAULT_OUT = shipped_file("handstream_hand_right.pkl")


@dataclass(frozen=True)
class BuildOptions:
    """Resolution and sample counts; the defaults produce the shipped file."""

    grid_step: float = 0.0015  # metres between samples of the implicit surface
    target_vertices: int = 1200
    smoothing_iterations: int = 10
    relax_iterations: int = 10
    shape_samples: int = 300
    pose_samples: int = 50_000
    seed: int = 20261122
    correctives: CorrectiveOptions = field(default_factory=CorrectiveOptions)
    # Extra vertices where the surface folds (`models.hand.refine`): tried for issue 26 and not shipped (a fist's
    # short new edges over the knuckles stretch beyond 2x where the old long ones did not); None builds the file.
    refine: RefineOptions | None = None


def _sampled_sdf(lo: np.ndarray, hi: np.ndarray, step: float) -> np.ndarray:
    """`hand_sdf` on a regular grid: exact near the surface, interpolated from a 3x coarser grid elsewhere."""
    counts = np.ceil((hi - lo) / step).astype(int) + 1
    counts += (1 - counts) % 3  # so the coarse grid (every 3rd sample) ends on the last fine sample
    axes = [lo[i] + step * np.arange(counts[i]) for i in range(3)]
    coarse_grid = np.stack(np.meshgrid(*[a[::3] for a in axes], indexing="ij"), axis=-1)
    coarse = hand_sdf(coarse_grid)
    fine_index = np.stack(np.meshgrid(*[np.arange(c) / 3.0 for c in counts], indexing="ij"), axis=0)
    field = map_coordinates(coarse, fine_index.reshape(3, -1), order=1).reshape(*counts)
    near = np.abs(field) < 4.0 * step + 0.003  # the coarse field's error is well below this band
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    field[near] = hand_sdf(grid[near])
    return field


def rest_mesh(options: BuildOptions) -> tuple[np.ndarray, np.ndarray]:
    """Closed, outward-wound rest mesh (vertices (V, 3) metres, faces (F, 3)) at about `target_vertices`."""
    import open3d as o3d

    lo = np.array([-0.095, -0.045, -0.08])
    hi = np.array([0.145, 0.04, 0.105])
    # A light blur of the distance field removes creases a few voxels wide that smoothing would fold over.
    field = gaussian_filter(_sampled_sdf(lo, hi, options.grid_step), sigma=1.0)
    verts, faces = surface_nets(field, lo, options.grid_step)
    faces = faces[:, ::-1]  # surface nets winds them inwards for our sign convention
    dense = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(verts), o3d.utility.Vector3iVector(faces))
    # Smooth the dense mesh (grid terracing) before decimating: smoothing the coarse one can fold thin places.
    dense = dense.filter_smooth_taubin(number_of_iterations=options.smoothing_iterations)
    # A closed genus-0 mesh has F = 2V - 4. Should a decimation fold somewhere, try a few nearby sizes (in a fixed
    # order, so the result stays deterministic).
    for extra in (0, 10, -10, 20, -20, 30, -30):
        mesh = dense.simplify_quadric_decimation(target_number_of_triangles=2 * (options.target_vertices + extra) - 4)
        mesh.remove_degenerate_triangles()
        mesh.remove_unreferenced_vertices()
        if mesh.is_watertight() and mesh.is_edge_manifold() and mesh.is_vertex_manifold():
            break
    else:
        raise RuntimeError("hand_builder: the decimated surface is not a closed manifold; change grid_step")
    verts = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.triangles, dtype=np.int64)
    relaxed = relax_on_surface(verts, faces, options.relax_iterations)
    candidate = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(relaxed), o3d.utility.Vector3iVector(faces))
    if candidate.is_watertight():  # keep the even spacing unless it folded a tight spot
        verts = relaxed
    # Stable vertex order (by position) so the file does not depend on the decimator's internal order.
    order = np.lexsort((verts[:, 2], verts[:, 1], verts[:, 0]))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return verts[order], rank[faces].astype(np.int32)


def pose_pca(poses: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MANO-style (hands_components (45, 45), hands_mean (45,), explained variance ratio (45,)).

    Rows are principal directions scaled by their standard deviation, so PCA coefficients are ~N(0, 1).
    """
    mean = poses.mean(axis=0)
    cov = np.cov(poses - mean, rowvar=False)
    eigval, eigvec = np.linalg.eigh(cov)
    order = np.argsort(eigval)[::-1]
    eigval, eigvec = np.clip(eigval[order], 0.0, None), eigvec[:, order]
    comps = (eigvec * np.sqrt(eigval)).T
    for i in range(45):
        if comps[i, np.argmax(np.abs(comps[i]))] < 0:
            comps[i] = -comps[i]
    return comps, mean, eigval / eigval.sum()


def build_hand_model(options: BuildOptions | None = None) -> dict[str, object]:
    """All arrays of the MANO-format file (plus `fingertip_ids`, name, version, license)."""
    options = BuildOptions() if options is None else options
    rng = np.random.default_rng(options.seed)
    verts, faces = rest_mesh(options)
    shape_weights = hand_rig.skinning_weights(verts)  # the shape space's (version 1.0's) weights
    shape_rng = np.random.default_rng(options.seed)  # the same draws again, for the vertices added below
    samples_v, samples_j = hand_rig.shape_samples(verts, shape_weights, options.shape_samples, rng)
    shapedirs, _ = hand_rig.shape_basis(verts, samples_v)
    regressor = hand_rig.joint_regressor(verts, samples_v, samples_j)
    # The PCA stays the one made from the prior before its contact stops (fingers at the palm, the thumb at the palm
    # and the fingers): networks predict in it.
    comps, mean, _ = pose_pca(sample_poses(options.pose_samples, rng, keep_tips_out=False))
    tips = hand_rig.fingertip_ids(verts)
    weights = hand_rig.skinning_weights(verts, hand_rig.SKIN_BLEND, hand_rig.SKIN_REACH)
    single_joint = hand_rig.pose_correctives(verts, weights, regressor)
    fit_poses = fit_pose_set(options.correctives, options.seed)
    posedirs = fit_correctives(verts, faces, weights, regressor, single_joint, tips, fit_poses, options.correctives)
    if options.refine is not None:
        # Vertices added where the surface folds, after the ones the joints and tips are made of (those keep their
        # ids, positions, shape directions, regressor weights, skinning and correctives: joints and keypoints stay).
        base = len(verts)
        verts, faces, stencils = refine_folds(verts, faces, options.refine)
        added = verts[base:]
        added_samples, _ = hand_rig.shape_samples(added, hand_rig.skinning_weights(added), options.shape_samples,
                                                  shape_rng)
        shapedirs = extend_shapedirs(verts[:base], shapedirs, samples_v, added, added_samples)
        regressor = np.concatenate([regressor, np.zeros((len(regressor), len(added)))], axis=1)
        weights = np.concatenate([weights, hand_rig.skinning_weights(added, hand_rig.SKIN_BLEND, hand_rig.SKIN_REACH)])
        single_joint = hand_rig.pose_correctives(verts, weights, regressor)
        posedirs = fit_added_correctives(verts, weights, regressor, single_joint, posedirs, stencils, fit_poses,
                                         options.correctives.ridge, options.refine.tension)
    kintree = np.stack([PARENTS, np.arange(16)]).astype(np.int64)
    return {
        "v_template": verts,
        "f": faces,
        "J_regressor": regressor,
        "kintree_table": kintree,
        "weights": weights,
        "posedirs": posedirs,
        "shapedirs": shapedirs,
        "hands_components": comps,
        "hands_mean": mean,
        "fingertip_ids": tips,
        "model_name": MODEL_NAME,
        "model_version": MODEL_VERSION,
        "license": "Apache-2.0",
    }


def model_digest(model: dict[str, object]) -> str:
    """SHA-256 over the arrays (rounded to 1e-9 so float noise in the last bits does not count), keys sorted."""
    h = hashlib.sha256()
    for key in sorted(model):
        value = model[key]
        h.update(key.encode())
        if isinstance(value, np.ndarray):
            arr = np.round(value, 9) if value.dtype.kind == "f" else value
            h.update(np.ascontiguousarray(arr).tobytes())
            h.update(str(value.shape).encode())
        else:
            h.update(str(value).encode())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output .pkl (default: %(default)s)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    model = build_hand_model()
    write_hand_file(args.out, model)
    v = model["v_template"]
    print(f"{args.out}: {len(v)} vertices, {len(model['f'])} faces, digest {model_digest(model)[:16]}, "
          f"{time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
