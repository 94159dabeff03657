"""The 3-D view's renderer: the hand meshes (up to two) with their joints, drawn by Open3D off screen in a
process of its own.

Why a process: Open3D holds Python's GIL while it renders (measured: a Python thread ran at a quarter of its
speed while another thread rendered with one rasteriser thread), and without a GPU a render takes 7-20 ms.
In the app's process that stalls the engine and the Qt thread on every frame; in its own process the
renderer costs them nothing but the CPU it uses. Why the legacy ``Visualizer`` with a hidden window (EGL):
it renders a hand in a few milliseconds where ``rendering.OffscreenRenderer`` takes 150-300 ms. It must be
created, used and destroyed by one thread: ``serve`` is that thread.

The protocol on the pipe, one reply per request: ``("hands", [HandPose, ...])``, ``("orbit", dx_deg,
dy_deg)``, ``("zoom", steps)``, ``("reset",)`` each answer ``Rendered``; ``("quit",)`` ends the process.
The first message from the process is a ``Rendered`` of the rest pose, or one whose ``problem`` says why
there is no 3-D view.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from models.hand.skeleton import KEYPOINT_BONES

SKIN = (0.87, 0.68, 0.56)
JOINT_COLOUR = (0.85, 0.1, 0.1)
BONE_COLOUR = (0.15, 0.15, 0.6)
BACKGROUND = (0.13, 0.14, 0.17)
# camera space (x right, y down, z forward, mm) -> view space (y up, looking along -z, metres):
# the default view then shows the hand as the camera sees it.
_CAMERA_TO_VIEW = np.diag([1.0, -1.0, -1.0]) / 1000.0
FOLLOW_RATE = 0.1         # per frame: the view's centre closes 10 % of its distance to the hand
FOLLOW_RESET_MM = 150.0   # a jump this large (another hand, a new track) re-centres at once
MAX_HANDS = 2             # hand slots in the scene (the engine's default max_hands)
VIEW_HALF_SIZE_M = 0.085  # the default view frames a cube of twice this around the hand's centre
FIT_EXTENT_M = 0.25       # wider scenes (two hands apart) are shrunk to this extent


@dataclass
class HandPose:
    """One hand to show: camera-space millimetres; ``vertices`` None for joints-only models;
    ``left`` hands are mirrored right-hand meshes (their faces are drawn with reversed winding)."""

    vertices: np.ndarray | None
    joints: np.ndarray
    left: bool = False


@dataclass
class Rendered:
    """One reply of the render process: the picture (H, W, 3 uint8; None when there is none), the time
    the render and read-back took, and what could not be shown (one line each)."""

    rgb: np.ndarray | None
    render_ms: float = 0.0
    problems: list[str] = field(default_factory=list)


@dataclass
class _HandSlot:
    """The scene objects of one shown hand and what is currently visible of them."""

    mesh: object
    joints: object
    bones: object
    left: bool = False
    visible: set = field(default_factory=set)


class MeshScene:
    """The Open3D visualizer and its scene; use it from one thread only."""

    def __init__(self, faces: np.ndarray, rest_vertices: np.ndarray, rest_joints: np.ndarray,
                 width: int, height: int, max_hands: int = MAX_HANDS) -> None:
        """Create the hidden window and the scene: per hand slot a mesh, joint points, bone lines.

        The camera is never moved: Open3D 0.20's ``get_view_control()`` breaks rendering in every
        visualizer after the first one of a process (blank frames). Orbit and zoom therefore
        rotate and scale the geometry about the view's centre, which costs nothing extra since
        the vertices are rewritten each frame anyway. Raises RuntimeError when there is no OpenGL/EGL.
        """
        import open3d as o3d

        self._faces = np.asarray(faces, np.int32)
        self._shown = [HandPose(np.asarray(rest_vertices, np.float64), np.asarray(rest_joints, np.float64))]
        self._anchor: np.ndarray | None = None
        self._orbit = np.eye(3)
        self._zoom = 1.0
        self._fit = 1.0
        self._mismatch_reported = False
        self.problems: list[str] = []
        vis = o3d.visualization.Visualizer()
        if not vis.create_window(window_name="handstream-3d", width=max(16, width), height=max(16, height),
                                 visible=False):
            raise RuntimeError("Open3D could not create an off-screen window (no OpenGL/EGL)")
        opt = vis.get_render_option()
        opt.background_color = np.array(BACKGROUND)
        opt.point_size = 9.0
        opt.mesh_show_back_face = True
        # the default camera frames what is added first: a cube around the centre, so the centre
        # of the view is the anchor and a hand fits at any orientation
        frame = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(
            np.array([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]]) * VIEW_HALF_SIZE_M))
        vis.add_geometry(frame)
        vis.remove_geometry(frame, reset_bounding_box=False)
        rest = self._shown[0]
        self._slots: list[_HandSlot] = []
        for _ in range(max_hands):
            mesh = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(rest.vertices),
                                             o3d.utility.Vector3iVector(self._faces))
            mesh.paint_uniform_color(SKIN)
            joints = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(rest.joints))
            joints.paint_uniform_color(JOINT_COLOUR)
            bones = o3d.geometry.LineSet(o3d.utility.Vector3dVector(rest.joints),
                                         o3d.utility.Vector2iVector(np.array(KEYPOINT_BONES, np.int32)))
            bones.paint_uniform_color(BONE_COLOUR)
            self._slots.append(_HandSlot(mesh, joints, bones))
        self._vis = vis
        self._follow(self._shown)

    def show(self, poses: list[HandPose]) -> None:
        """The hands to draw from now on (at most the scene's slots; an empty list clears the view)."""
        self._shown = list(poses[: len(self._slots)])
        self._follow(self._shown)

    def orbit(self, dx_deg: float, dy_deg: float) -> None:
        """Turn the hands about the view's vertical (drag left/right) and horizontal axes."""
        ay, ax = np.radians(dx_deg), np.radians(dy_deg)
        ry = np.array([[np.cos(ay), 0.0, np.sin(ay)], [0.0, 1.0, 0.0], [-np.sin(ay), 0.0, np.cos(ay)]])
        rx = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(ax), -np.sin(ax)], [0.0, np.sin(ax), np.cos(ax)]])
        self._orbit = rx @ ry @ self._orbit

    def zoom(self, steps: float) -> None:
        """Wheel steps: positive brings the hands closer."""
        self._zoom = float(np.clip(self._zoom * 1.15 ** steps, 0.2, 8.0))

    def reset(self) -> None:
        self._orbit = np.eye(3)
        self._zoom = 1.0

    def render(self) -> Rendered:
        """Write the shown hands into the scene's geometry (in place), render and read the picture back."""
        self._draw()
        t0 = time.perf_counter()
        self._vis.poll_events()
        self._vis.update_renderer()
        buf = np.asarray(self._vis.capture_screen_float_buffer(do_render=True))
        rgb = np.ascontiguousarray((buf * 255.0).astype(np.uint8))
        problems, self.problems = self.problems, []
        return Rendered(rgb, (time.perf_counter() - t0) * 1000.0, problems)

    def close(self) -> None:
        self._vis.destroy_window()

    def _follow(self, poses: list[HandPose]) -> None:
        """Move the anchor (the view's centre) towards the hands' centre with a short lag: the
        hands stay in view, yet their motion (also in depth) remains visible."""
        if not poses:
            return
        points = np.concatenate([np.asarray(p.joints if p.vertices is None else p.vertices, np.float64)
                                 for p in poses])
        centre = (points.min(axis=0) + points.max(axis=0)) / 2.0
        # shrink to fit when the hands spread wider than the view (two hands), never enlarge
        extent_m = float(np.max(points.max(axis=0) - points.min(axis=0))) / 1000.0
        fit = min(1.0, FIT_EXTENT_M / max(extent_m, 1e-6))
        if self._anchor is None or np.linalg.norm(centre - self._anchor) > FOLLOW_RESET_MM:
            self._anchor, self._fit = centre.copy(), fit
        else:
            self._anchor += FOLLOW_RATE * (centre - self._anchor)
            self._fit += FOLLOW_RATE * (fit - self._fit)

    def _show(self, slot: _HandSlot, geometry, visible: bool) -> None:
        """Add or remove one geometry of a slot when its visibility changes (rare)."""
        key = id(geometry)
        if visible and key not in slot.visible:
            self._vis.add_geometry(geometry, reset_bounding_box=False)
            slot.visible.add(key)
        elif not visible and key in slot.visible:
            self._vis.remove_geometry(geometry, reset_bounding_box=False)
            slot.visible.discard(key)

    def _draw(self) -> None:
        m = _CAMERA_TO_VIEW @ self._orbit.T * (self._zoom * self._fit)  # mm → view m, orbit, zoom
        for i, slot in enumerate(self._slots):
            pose = self._shown[i] if i < len(self._shown) else None
            vertices = None if pose is None or pose.vertices is None else np.asarray(pose.vertices)
            if vertices is not None and vertices.shape[0] != np.asarray(slot.mesh.vertices).shape[0]:
                if not self._mismatch_reported:
                    self._mismatch_reported = True
                    self.problems.append(f"3-D view: the hand has {vertices.shape[0]} vertices, the hand "
                                         f"model {np.asarray(slot.mesh.vertices).shape[0]}; showing joints only")
                vertices = None
            if vertices is not None:
                np.asarray(slot.mesh.vertices)[:] = (vertices - self._anchor) @ m
                if pose.left != slot.left:  # a mirrored hand needs the opposite winding
                    np.asarray(slot.mesh.triangles)[:] = self._faces[:, ::-1] if pose.left else self._faces
                    slot.left = pose.left
                slot.mesh.compute_vertex_normals()
            if pose is not None:
                j = (np.asarray(pose.joints, np.float64) - self._anchor) @ m
                np.asarray(slot.joints.points)[:] = j
                np.asarray(slot.bones.points)[:] = j
            # joints-only models (CADSTN) hide the surface; missing hands hide everything
            self._show(slot, slot.mesh, vertices is not None)
            self._show(slot, slot.joints, pose is not None)
            self._show(slot, slot.bones, pose is not None)
            for geometry in (slot.mesh, slot.joints, slot.bones):
                if id(geometry) in slot.visible:
                    self._vis.update_geometry(geometry)


def serve(conn, faces: np.ndarray, rest_vertices: np.ndarray, rest_joints: np.ndarray, width: int,
          height: int, max_hands: int = MAX_HANDS) -> None:
    """The render process: build the scene, answer each request with a picture, end on quit or when the
    app's end of the pipe closes. Ctrl+C in a terminal reaches the whole process group: the app shuts this
    process down in order, so it ignores the signal rather than die mid-frame with a traceback."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():  # its own process (tests run it in a thread)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        scene = MeshScene(faces, rest_vertices, rest_joints, width, height, max_hands)
    except Exception as exc:  # noqa: BLE001 - reported in the view instead of a dead process
        conn.send(Rendered(None, problems=[f"3-D view unavailable: {exc}"]))
        conn.close()
        return
    try:
        conn.send(scene.render())
        while True:
            try:
                request = conn.recv()
            except (EOFError, OSError):
                break
            kind, *args = request
            if kind == "quit":
                break
            {"hands": scene.show, "orbit": scene.orbit, "zoom": scene.zoom, "reset": scene.reset}[kind](*args)
            conn.send(scene.render())
    finally:
        scene.close()
        conn.close()
