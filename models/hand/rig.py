"""Rigging the open hand model's rest mesh: skinning weights, fingertips, shape variation and the joint regressor.

Why this design:
- Skinning weights come from the skeleton, not from painting: each vertex belongs (softly) to the finger whose bone
  chain is nearest, and along that chain it crosses each joint through a smooth step over a short band, so weights
  only blend a bone with its parent or child and a 90° bend keeps most of the joint's cross-section.
- Shape variation is a set of per-bone scalings (hand size, palm length/width/thickness, finger lengths and
  thicknesses) in bone-local frames, blended by those same weights, so every sample keeps the template's topology;
  PCA over samples gives MANO-style `shapedirs` with unit-variance betas.
- The joint regressor is a sparse, non-negative, sum-to-one combination of the vertices around each joint, fitted so
  the regressed joints follow the skeleton across the shape samples, like MANO's does.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import eigh
from scipy.optimize import nnls

from models.hand.model import rodrigues
from models.hand.skeleton import FINGER_JOINTS, FINGER_RADII, FINGERS, PARENTS, joint_axes, rest_joints, rest_tips

# Half-width (metres) of the band over which a vertex hands over from a bone to the next, per joint of a chain.
_BLEND = {"thumb": (0.008, 0.006, 0.0045), "long": (0.011, 0.0045, 0.0038)}
_SEAM = 0.006  # metres: how wide the seam between neighbouring fingers (and the thumb web) is
_REACH = 0.009  # metres beyond a finger's surface radius over which its influence fades into the palm
# The file's skinning (since version 1.1) blends over wider bands: the thumb's base over ±20 mm and further into the
# palm (its metacarpal moves the whole thenar eminence; the narrow 1.0 band stretched the skin there beyond 2x), the
# long fingers' joints over ±14 / 9 / 6 mm (fewer folded triangles at bent knuckles). The shape space is still built
# with the 1.0 weights above, so betas keep their meaning.
SKIN_BLEND = {"thumb": (0.020, 0.006, 0.0045), "long": (0.014, 0.009, 0.006)}
SKIN_REACH = {"thumb": 0.015, "long": _REACH}


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ab = b - a
    t = np.clip(((p - a) @ ab) / (ab @ ab), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=1), t


def finger_chains(joints: np.ndarray | None = None, tips: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per finger the (4, 3) polyline joint1, joint2, joint3, tip."""
    joints = rest_joints() if joints is None else joints
    tips = rest_tips() if tips is None else tips
    return {f: np.vstack([joints[list(FINGER_JOINTS[f])], tips[i]]) for i, f in enumerate(FINGERS)}


def finger_membership(verts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(V, 5) soft membership of each vertex in each finger (rows sum to 1) and (V, 5) distance to its bones."""
    chains = finger_chains()
    dist = np.empty((len(verts), 5))
    for i, f in enumerate(FINGERS):
        c = chains[f]
        dist[:, i] = np.min([_segment_distance(verts, c[k], c[k + 1])[0] for k in range(3)], axis=0)
    # Compact support: only fingers within a seam's width of the nearest one share a vertex (no far-away leaks).
    m = 1.0 - _smoothstep((dist - dist.min(axis=1, keepdims=True)) / _SEAM)
    return m / m.sum(axis=1, keepdims=True), dist


def skinning_weights(verts: np.ndarray, blend: dict[str, tuple[float, float, float]] | None = None,
                     reach: dict[str, float] | None = None) -> np.ndarray:
    """(V, 16) linear-blend-skinning weights in MANO joint order; rows sum to 1."""
    chains = finger_chains()
    chains_wrist = rest_joints()[0, 0]  # x of the wrist joint
    membership, dist = finger_membership(verts)
    weights = np.zeros((len(verts), 16))
    for i, f in enumerate(FINGERS):
        c = chains[f]
        bands = (_BLEND if blend is None else blend)["thumb" if f == "thumb" else "long"]
        passed = []
        for k in range(3):
            d = (c[k + 1] - c[k]) / np.linalg.norm(c[k + 1] - c[k])
            s = (verts - c[k]) @ d
            passed.append(_smoothstep(0.5 + 0.5 * s / bands[k]))
        passed = np.minimum.accumulate(np.stack(passed, axis=1), axis=1)  # past the DIP implies past the PIP
        fade = _REACH if reach is None else reach["thumb" if f == "thumb" else "long"]
        share = membership[:, i] * (1.0 - _smoothstep((dist[:, i] - FINGER_RADII[f].max()) / fade))
        share *= _smoothstep((chains_wrist - verts[:, 0]) / 0.004)  # the forearm side of the wrist never follows
        j1, j2, j3 = FINGER_JOINTS[f]
        weights[:, j1] += share * (passed[:, 0] - passed[:, 1])
        weights[:, j2] += share * (passed[:, 1] - passed[:, 2])
        weights[:, j3] += share * passed[:, 2]
    weights[:, 0] = 1.0 - weights[:, 1:].sum(axis=1)
    return weights


def fingertip_ids(verts: np.ndarray) -> np.ndarray:
    """(5,) per finger (thumb..pinky) the vertex furthest along its distal bone, among the finger's own vertices."""
    chains = finger_chains()
    membership, _ = finger_membership(verts)
    ids = []
    for i, f in enumerate(FINGERS):
        c = chains[f]
        d = (c[3] - c[2]) / np.linalg.norm(c[3] - c[2])
        reach = (verts - c[2]) @ d
        reach[membership[:, i] < 0.5] = -np.inf
        ids.append(int(np.argmax(reach)))
    return np.array(ids, dtype=np.int64)


def _bone_frames_scale(direction: np.ndarray, along: float, across: float) -> np.ndarray:
    return along * np.outer(direction, direction) + across * (np.eye(3) - np.outer(direction, direction))


def shape_samples(verts: np.ndarray, weights: np.ndarray, n: int, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray]:
    """n plausible hand shapes of the same mesh: vertices (n, V, 3) and skeleton joints (n, 16, 3).

    Variation (log-normal factors): overall size 7%, palm length 4%, width 5%, thickness 7%, finger lengths 5% common
    + 3% each, finger thickness 7% common + 3% each.
    """
    joints = rest_joints()
    chains = finger_chains()
    out_v = np.empty((n, *verts.shape))
    out_j = np.empty((n, 16, 3))
    wrist = joints[0]
    for s in range(n):
        size = np.exp(rng.normal(0, 0.07))
        palm = np.diag(np.exp(rng.normal(0, [0.04, 0.07, 0.05])))  # x length, y thickness, z width
        length = np.exp(rng.normal(0, 0.05) + rng.normal(0, 0.03, 5))
        thick = np.exp(rng.normal(0, 0.07) + rng.normal(0, 0.03, 5))
        mats = np.zeros((16, 3, 3))
        new_j = np.zeros((16, 3))
        mats[0] = palm
        new_j[0] = wrist
        for i, f in enumerate(FINGERS):
            c = chains[f]
            ids = FINGER_JOINTS[f]
            start = wrist + palm @ (c[0] - wrist)
            for k, j in enumerate(ids):
                d = (c[k + 1] - c[k]) / np.linalg.norm(c[k + 1] - c[k])
                mats[j] = _bone_frames_scale(d, length[i], thick[i])
                new_j[j] = start
                start = start + mats[j] @ (c[k + 1] - c[k])
        # v' = sum_b w_b (J'_b + A_b (v - J_b)) = (sum_b w_b A_b) v + sum_b w_b (J'_b - A_b J_b), then the
        # whole hand scaled about the wrist.
        blended = (weights @ mats.reshape(16, 9)).reshape(-1, 3, 3)
        offsets = weights @ (new_j - np.einsum("bij,bj->bi", mats, joints))
        v_new = np.einsum("vij,vj->vi", blended, verts) + offsets
        out_v[s] = wrist + size * (v_new - wrist)
        out_j[s] = wrist + size * (new_j - wrist)
    return out_v, out_j


def shape_basis(verts: np.ndarray, samples: np.ndarray, num: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """MANO-style `shapedirs` (V, 3, num) from shape samples: betas ~ N(0, 1), beta = 0 is the template.

    Returns the basis and the fraction of the samples' deformation energy it explains.
    """
    disp = (samples - verts[None]).reshape(len(samples), -1)
    # Principal directions from the small (samples x samples) Gram matrix: same result as an SVD, much cheaper.
    gram = disp @ disp.T
    eigval, eigvec = eigh(gram, subset_by_index=[len(gram) - num, len(gram) - 1])  # the top `num`, ascending
    eigval, eigvec = eigval[::-1], eigvec[:, ::-1]
    sing = np.sqrt(np.clip(eigval, 1e-30, None))
    vt = (eigvec.T @ disp) / sing[:, None]
    basis = vt * (sing[:, None] / np.sqrt(len(samples)))
    centred = verts - verts.mean(axis=0)
    for i in range(num):
        comp = basis[i].reshape(-1, 3)
        ref = (comp * centred).sum() if i == 0 else comp.ravel()[np.argmax(np.abs(comp.ravel()))]
        if ref < 0:  # deterministic signs; the first component is "bigger hand" for positive beta
            basis[i] = -basis[i]
    explained = float(eigval.sum() / np.trace(gram))
    return np.ascontiguousarray(basis.reshape(num, -1, 3).transpose(1, 2, 0)), explained


def joint_regressor(verts: np.ndarray, samples_v: np.ndarray, samples_j: np.ndarray) -> np.ndarray:
    """(16, V) non-negative rows summing to one: each joint as a mix of nearby vertices, fitted over shapes."""
    joints = rest_joints()
    chains = finger_chains()
    membership, _ = finger_membership(verts)
    all_v = np.concatenate([verts[None], samples_v])
    all_j = np.concatenate([joints[None], samples_j])
    reg = np.zeros((16, len(verts)))
    for j in range(16):
        if j == 0:
            cand = np.flatnonzero(np.abs(verts[:, 0] - joints[0, 0]) < 0.006)
        else:
            f = next(name for name, ids in FINGER_JOINTS.items() if j in ids)
            fi = FINGERS.index(f)
            k = FINGER_JOINTS[f].index(j)
            c = chains[f]
            d = (c[k + 1] - c[k]) / np.linalg.norm(c[k + 1] - c[k])
            near = np.abs((verts - joints[j]) @ d) < 0.004
            close = np.linalg.norm(verts - joints[j], axis=1) < 0.025
            cand = np.flatnonzero(near & close & (membership[:, fi] > 0.5))
        if len(cand) < 4:
            raise RuntimeError(f"joint {j}: only {len(cand)} vertices around it; the mesh is too coarse")
        # Equations: positions of all shapes (template weighted x4), plus a heavy sum-to-one row.
        a = all_v[:, cand, :].transpose(0, 2, 1).reshape(-1, len(cand))
        b = all_j[:, j, :].reshape(-1)
        rows = np.ones(len(all_v) * 3)
        rows[:3] = 4.0
        a = np.vstack([a * rows[:, None], 10.0 * np.ones((1, len(cand)))])
        b = np.concatenate([b * rows, [10.0]])
        w, _ = nnls(a, b, maxiter=50 * len(cand))
        w = w / w.sum()
        reg[j, cand] = w
    return reg


def pose_correctives(verts: np.ndarray, weights: np.ndarray, regressor: np.ndarray) -> np.ndarray:
    """MANO-style `posedirs` (V, 3, 135) that undo linear blend skinning's volume loss at bent joints.

    For each finger joint alone, over a sweep of flexion and abduction angles, the target is the vertex turned
    about the joint by its blended *angle* (weight x angle, which keeps its distance from the joint, so no
    collapse) instead of LBS's blended *matrix*; the rest-space offset that makes LBS hit the target is fitted
    linearly in the joint's (R - I) entries, MANO's pose feature.
    """
    joints = regressor @ verts
    axes = joint_axes()
    posedirs = np.zeros((len(verts), 3, 135))
    flex = np.deg2rad(np.linspace(-20.0, 110.0, 14))
    abd = np.deg2rad(np.array([-15.0, 0.0, 15.0]))
    for k in range(1, 16):
        chain = [k]
        for j in range(k + 1, 16):
            if PARENTS[j] in chain:
                chain.append(j)
        c = weights[:, chain].sum(axis=1)  # how much of joint k's rotation each vertex follows under LBS
        band = np.flatnonzero((c > 1e-6) & (c < 1 - 1e-6))
        if len(band) == 0:
            continue
        f, a = np.meshgrid(flex, abd, indexing="ij")
        rotvecs = f.reshape(-1, 1) * axes[k, 0] + a.reshape(-1, 1) * axes[k, 1]  # (S, 3)
        rots = rodrigues(rotvecs)  # (S, 3, 3)
        rel = verts[band] - joints[k]  # (B, 3)
        cb = c[band]
        # LBS: blended matrix; target: rotation by the blended angle.
        lbs_m = (1 - cb)[None, :, None, None] * np.eye(3) + cb[None, :, None, None] * rots[:, None]  # (S, B, 3, 3)
        lbs = np.einsum("sbij,bj->sbi", lbs_m, rel)
        target = np.einsum("sbij,bj->sbi", rodrigues(cb[None, :, None] * rotvecs[:, None, :]), rel)
        offset = np.linalg.solve(lbs_m, (target - lbs)[..., None])[..., 0]  # rest-space offsets (S, B, 3)
        feature = (rots - np.eye(3)).reshape(len(rots), 9)  # (S, 9)
        # Least squares over samples for every vertex and coordinate at once: offset = feature @ P.
        sol, *_ = np.linalg.lstsq(feature, offset.reshape(len(rots), -1), rcond=None)  # (9, B*3)
        posedirs[band, :, 9 * (k - 1):9 * k] = sol.reshape(9, len(band), 3).transpose(1, 2, 0)
    return posedirs
