"""The 3-D view: the hand meshes (up to two) with their joints, rendered by Open3D off screen and
shown in a QLabel.

Why this shape: without a GPU, Open3D's legacy ``Visualizer`` with a hidden window (EGL) renders a
hand in a few milliseconds, while ``rendering.OffscreenRenderer`` takes 150-300 ms. That renderer
must be created, used and destroyed by ONE thread, so it lives in ``MeshRenderWorker`` inside its
own ``QThread``: hand poses and view moves (orbit, zoom) go in by Qt signals, rendered images
come out by a signal. Only the newest hands are kept, so a slow render never builds a backlog.
Vertex positions are updated in place each frame; the scene is built once.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from PyQt6.QtCore import QObject, QThread, Qt, pyqtSignal, pyqtSlot
from PyQt6.QtGui import QImage, QMouseEvent, QPixmap, QResizeEvent, QWheelEvent
from PyQt6.QtWidgets import QLabel, QSizePolicy

# bones between the 21 MediaPipe keypoints (0 wrist, then four joints per finger, thumb first)
BONES = [(0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11),
         (11, 12), (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20)]
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
class _HandSlot:
    """The scene objects of one shown hand and what is currently visible of them."""

    mesh: object
    joints: object
    bones: object
    left: bool = False
    visible: set = field(default_factory=set)


class MeshRenderWorker(QObject):
    """Owns the Open3D visualizer; every method runs in the worker's thread (connect by signals)."""

    rendered = pyqtSignal(QImage)
    failed = pyqtSignal(str)
    finished = pyqtSignal()

    def __init__(self, faces: np.ndarray, rest_vertices: np.ndarray, rest_joints: np.ndarray,
                 width: int, height: int, max_hands: int = MAX_HANDS) -> None:
        super().__init__()
        self._faces = np.asarray(faces, np.int32)
        self._rest = HandPose(np.asarray(rest_vertices, np.float64), np.asarray(rest_joints, np.float64))
        self._size = (max(16, width), max(16, height))
        self._max_hands = max_hands
        self._pending: list[HandPose] | None = None
        self._pending_lock = threading.Lock()
        self._vis = None
        self._slots: list[_HandSlot] = []
        self._anchor: np.ndarray | None = None
        self._shown: list[HandPose] = [self._rest]
        self._orbit = np.eye(3)
        self._zoom = 1.0
        self._fit = 1.0
        self._mismatch_reported = False
        self.render_ms: deque[float] = deque(maxlen=120)

    # called from any thread: keep only the newest hands
    def offer(self, poses: list[HandPose]) -> None:
        with self._pending_lock:
            self._pending = list(poses)

    @pyqtSlot()
    def setup(self) -> None:
        """Create the hidden window and the scene: per hand slot a mesh, joint points, bone lines.

        The camera is never moved: Open3D 0.20's ``get_view_control()`` breaks rendering in every
        visualizer after the first one of a process (blank frames). Orbit and zoom therefore
        rotate and scale the geometry about the view's centre, which costs nothing extra since
        the vertices are rewritten each frame anyway.
        """
        import open3d as o3d

        try:
            vis = o3d.visualization.Visualizer()
            if not vis.create_window(window_name="handstream-3d", width=self._size[0],
                                     height=self._size[1], visible=False):
                raise RuntimeError("Open3D could not create an off-screen window (no OpenGL/EGL)")
        except Exception as exc:  # noqa: BLE001 - shown in the view instead of a dead thread
            self.failed.emit(f"3-D view unavailable: {exc}")
            return
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
        for _ in range(self._max_hands):
            mesh = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(self._rest.vertices),
                                             o3d.utility.Vector3iVector(self._faces))
            mesh.paint_uniform_color(SKIN)
            joints = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(self._rest.joints))
            joints.paint_uniform_color(JOINT_COLOUR)
            bones = o3d.geometry.LineSet(o3d.utility.Vector3dVector(self._rest.joints),
                                         o3d.utility.Vector2iVector(np.array(BONES, np.int32)))
            bones.paint_uniform_color(BONE_COLOUR)
            self._slots.append(_HandSlot(mesh, joints, bones))
        self._vis = vis
        self._follow(self._shown)
        self._draw()

    @pyqtSlot()
    def reset_camera(self) -> None:
        self._orbit = np.eye(3)
        self._zoom = 1.0
        self._draw()

    @pyqtSlot()
    def render_pending(self) -> None:
        """Show the newest offered hands (nothing to do when they were already shown)."""
        with self._pending_lock:
            poses, self._pending = self._pending, None
        if poses is None:
            return
        self._shown = poses[: self._max_hands]
        self._follow(self._shown)
        self._draw()

    @pyqtSlot(float, float)
    def orbit(self, dx_deg: float, dy_deg: float) -> None:
        """Turn the hands about the view's vertical (drag left/right) and horizontal axes."""
        ay, ax = np.radians(dx_deg), np.radians(dy_deg)
        ry = np.array([[np.cos(ay), 0.0, np.sin(ay)], [0.0, 1.0, 0.0], [-np.sin(ay), 0.0, np.cos(ay)]])
        rx = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(ax), -np.sin(ax)], [0.0, np.sin(ax), np.cos(ax)]])
        self._orbit = rx @ ry @ self._orbit
        self._draw()

    @pyqtSlot(float)
    def zoom(self, steps: float) -> None:
        """Wheel steps: positive brings the hands closer."""
        self._zoom = float(np.clip(self._zoom * 1.15 ** steps, 0.2, 8.0))
        self._draw()

    @pyqtSlot()
    def teardown(self) -> None:
        """Destroy the window in the thread that made it, then end the thread."""
        if self._vis is not None:
            self._vis.destroy_window()
            self._vis = None
        self.finished.emit()
        QThread.currentThread().quit()

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
        """Write the shown hands into the scene's geometry (in place) and render."""
        if self._vis is None:
            return
        m = _CAMERA_TO_VIEW @ self._orbit.T * (self._zoom * self._fit)  # mm → view m, orbit, zoom
        for i, slot in enumerate(self._slots):
            pose = self._shown[i] if i < len(self._shown) else None
            vertices = None if pose is None or pose.vertices is None else np.asarray(pose.vertices)
            if vertices is not None and vertices.shape[0] != np.asarray(slot.mesh.vertices).shape[0]:
                if not self._mismatch_reported:
                    self._mismatch_reported = True
                    self.failed.emit(f"3-D view: the hand has {vertices.shape[0]} vertices, the hand "
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
        self._render()

    def _render(self) -> None:
        t0 = time.perf_counter()
        self._vis.poll_events()
        self._vis.update_renderer()
        buf = np.asarray(self._vis.capture_screen_float_buffer(do_render=True))
        rgb = np.ascontiguousarray((buf * 255.0).astype(np.uint8))
        image = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0],
                       QImage.Format.Format_RGB888).copy()
        self.render_ms.append((time.perf_counter() - t0) * 1000.0)
        self.rendered.emit(image)


class MeshView(QLabel):
    """The widget: shows what the worker rendered; drag to orbit, wheel to zoom, double-click to reset."""

    problem = pyqtSignal(str)  # the 3-D view cannot show something (the app shows the message)
    _request_render = pyqtSignal()
    _request_orbit = pyqtSignal(float, float)
    _request_zoom = pyqtSignal(float)
    _request_reset = pyqtSignal()
    _request_teardown = pyqtSignal()

    def __init__(self, faces: np.ndarray, rest_vertices: np.ndarray, rest_joints: np.ndarray,
                 width: int = 480, height: int = 360, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumSize(240, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet("background: #22242b; color: #ddd;")
        self.setText("starting the 3-D view ...")
        self.setToolTip("drag: orbit · wheel: zoom · double-click: reset view")
        self.error: str | None = None
        self.frames_shown = 0
        self._image: QImage | None = None
        self._drag_from = None
        self._thread = QThread()
        self._thread.setObjectName("mesh-render")
        self._worker = MeshRenderWorker(faces, rest_vertices, rest_joints, width, height)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.setup)
        self._request_render.connect(self._worker.render_pending)
        self._request_orbit.connect(self._worker.orbit)
        self._request_zoom.connect(self._worker.zoom)
        self._request_reset.connect(self._worker.reset_camera)
        self._request_teardown.connect(self._worker.teardown)
        self._worker.rendered.connect(self._on_rendered)
        self._worker.failed.connect(self._on_failed)
        self._thread.start()

    # -- public -------------------------------------------------------------------------------
    def show_hands(self, poses: list[HandPose]) -> None:
        """Queue the hands of one frame for rendering (at most two are drawn); only the newest
        frame's hands are drawn, an empty list clears the view."""
        self._worker.offer(poses)
        self._request_render.emit()

    def image(self) -> QImage | None:
        """The last rendered image (for tests and screenshots)."""
        return self._image

    def render_ms(self) -> list[float]:
        """Recent render times in milliseconds (Open3D render + read-back)."""
        return list(self._worker.render_ms)

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    def close_renderer(self, timeout_ms: int = 3000) -> None:
        """Destroy the renderer in its own thread and wait for that thread to end."""
        if self._thread.isRunning():
            self._request_teardown.emit()
            if not self._thread.wait(timeout_ms):
                self._thread.quit()
                self._thread.wait(1000)

    # -- Qt -----------------------------------------------------------------------------------
    def _on_rendered(self, image: QImage) -> None:
        self._image = image
        self.frames_shown += 1
        self._show_scaled()

    def _on_failed(self, message: str) -> None:
        self.error = message
        if self._image is None:
            self.setText(message)
        self.problem.emit(message)

    def _show_scaled(self) -> None:
        if self._image is not None:
            self.setPixmap(QPixmap.fromImage(self._image).scaled(
                self.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        self._show_scaled()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._drag_from = event.position()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag_from is not None:
            d = event.position() - self._drag_from
            self._drag_from = event.position()
            if not d.isNull():
                self._request_orbit.emit(float(d.x()) * 0.5, float(d.y()) * 0.5)  # degrees

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._drag_from = None

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._request_reset.emit()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        self._request_zoom.emit(event.angleDelta().y() / 120.0)
