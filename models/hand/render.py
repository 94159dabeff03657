"""Renders of the hand model for the docs: rest, fist, pinch, spread, ±2σ of the first shape components, and 12
real poses.

    python -m models.hand.render --out docs/hand_model

Uses Open3D's legacy Visualizer in a hidden window (EGL offscreen without a display), so it runs headless here.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from models.hand.model import HandModel, load_hand_model
from models.hand.poses import named_pose

SKIN = (0.86, 0.68, 0.58)
# Camera: looking at the back of the hand from above, slightly tilted, fingers up in the image.
VIEWS = {
    "back": {"front": (0.15, 1.0, -0.25), "up": (-1.0, 0.0, 0.0)},
    "palm": {"front": (0.15, -1.0, -0.25), "up": (-1.0, 0.0, 0.0)},
    "side": {"front": (0.1, 0.15, 1.0), "up": (-1.0, 0.0, 0.0)},
}


def render_meshes(meshes: list[tuple[np.ndarray, np.ndarray]], out: Path, view: str = "back",
                  size: tuple[int, int] = (480, 480), scale_of: float | None = None) -> Path:
    """Render (vertices, faces) pairs side by side in one PNG.

    Open3D frames the bounding box, so a fist would fill the image; `scale_of` (a bounding-box diagonal, metres)
    keeps the on-screen scale of an object that size instead, so poses can be compared.
    """
    import open3d as o3d

    # Several meshes go side by side, left to right on screen.
    right = np.cross(VIEWS[view]["up"], VIEWS[view]["front"])
    right = right / np.linalg.norm(right)
    edge = 0.0
    geoms = []
    for verts, faces in meshes:
        verts = np.asarray(verts, dtype=np.float64).copy()
        extent = verts @ right
        if geoms:
            verts += right * (edge - extent.min() + 0.15 * (extent.max() - extent.min()))
        edge = (verts @ right).max()
        mesh = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(verts),
                                         o3d.utility.Vector3iVector(np.asarray(faces, dtype=np.int32)))
        mesh.compute_vertex_normals()
        mesh.paint_uniform_color(SKIN)
        geoms.append(mesh)
    vis = o3d.visualization.Visualizer()
    vis.create_window(visible=False, width=size[0] * len(meshes), height=size[1])
    try:
        for g in geoms:
            vis.add_geometry(g)
        opt = vis.get_render_option()
        opt.background_color = np.array([1.0, 1.0, 1.0])
        opt.mesh_show_back_face = False
        centre = np.mean([np.asarray(g.vertices).mean(axis=0) for g in geoms], axis=0)
        ctl = vis.get_view_control()
        ctl.set_front(VIEWS[view]["front"])
        ctl.set_up(VIEWS[view]["up"])
        ctl.set_lookat(centre)
        diag = np.linalg.norm(np.ptp(np.vstack([np.asarray(g.vertices) for g in geoms]), axis=0))
        ctl.set_zoom(0.75 if scale_of is None else 0.75 * scale_of / diag)
        image = np.asarray(vis.capture_screen_float_buffer(do_render=True))
    finally:
        vis.destroy_window()
    out.parent.mkdir(parents=True, exist_ok=True)
    o3d.io.write_image(str(out), o3d.geometry.Image((np.clip(image, 0, 1) * 255).astype(np.uint8)))
    return out


def render_grid(meshes: list[tuple[np.ndarray, np.ndarray]], out: Path, view: str, columns: int = 4,
                scale_of: float | None = None) -> Path:
    """One cell per mesh (each framed alone, at the on-screen scale of `scale_of`), in rows of `columns`."""
    import tempfile

    import open3d as o3d

    cells = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, mesh in enumerate(meshes):
            path = render_meshes([mesh], Path(tmp) / f"cell{i}.png", view, size=(320, 320), scale_of=scale_of)
            cells.append(np.asarray(o3d.io.read_image(str(path))))
    cells += [np.full_like(cells[0], 255)] * (-len(cells) % columns)
    rows = [np.hstack(cells[r:r + columns]) for r in range(0, len(cells), columns)]
    out.parent.mkdir(parents=True, exist_ok=True)
    o3d.io.write_image(str(out), o3d.geometry.Image(np.ascontiguousarray(np.vstack(rows))))
    return out


def render_real_poses(model: HandModel, out_dir: Path, tag: str) -> list[Path]:
    """The 12 held-out real poses of `models.hand.correctives.FIT_POSES_FILE` (NYU and ICVL labels through IK),
    back, palm and side, as `real_<tag>_<view>.png`: the same poses before and after a change of the model."""
    from models.hand.correctives import FIT_POSES_FILE

    with np.load(FIT_POSES_FILE) as z:
        poses = z["render"].astype(np.float64)
    verts = model.forward(poses).vertices
    meshes = [(v, model.faces) for v in verts]
    scale = 0.85 * float(np.linalg.norm(np.ptp(model.forward(np.zeros(45)).vertices[0], axis=0)))  # fills a cell
    return [render_grid(meshes, out_dir / f"real_{tag}_{view}.png", view, scale_of=scale)
            for view in ("back", "palm", "side")]


def render_docs(model: HandModel, out_dir: Path) -> list[Path]:
    """The docs set: poses (two views each) and shape components at ±2σ."""
    written = []
    rest = model.forward(named_pose("flat")).vertices[0]
    scale = float(np.linalg.norm(np.ptp(rest, axis=0)))
    for name in ("flat", "fist", "pinch", "spread"):
        verts = model.forward(named_pose(name)).vertices[0]
        file_name = "rest" if name == "flat" else name
        for view, suffix in (("back", ""), ("palm", "_palm"), ("side", "_side")):
            written.append(render_meshes([(verts, model.faces)], out_dir / f"{file_name}{suffix}.png", view,
                                         scale_of=scale))
    for k in range(3):
        pair = []
        for sign in (-2.0, 2.0):
            betas = np.zeros((1, model.num_betas))
            betas[0, k] = sign
            pair.append((model.forward(named_pose("flat"), betas).vertices[0], model.faces))
        written.append(render_meshes(pair, out_dir / f"shape{k}_minus2_plus2.png", "back"))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/hand_model"))
    parser.add_argument("--model", type=Path, default=None, help="hand model file (default: the active one)")
    parser.add_argument("--real-only", metavar="TAG", default=None,
                        help="only the 12 real poses, written as real_TAG_<view>.png (e.g. before, after)")
    args = parser.parse_args(argv)
    model = load_hand_model(args.model)
    if args.real_only:
        paths = render_real_poses(model, args.out, args.real_only)
    else:
        paths = render_docs(model, args.out) + render_real_poses(model, args.out, "after")
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
