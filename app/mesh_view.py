"""The 3-D view: the hand meshes (up to two) with their joints, rendered off screen and shown in a QLabel.

Why this shape: Open3D renders in a process of its own (``app.mesh_render``: it holds the GIL while it
renders, which would stall the engine and Qt on every frame). ``MeshRenderWorker`` lives in the view's
``QThread`` and talks to that process: hand poses and view moves (orbit, zoom) come in by Qt signals,
go to the process over a pipe, and the pictures it sends back go out by a signal. Only the newest hands
are kept and one request is in flight at a time, so a slow render never builds a backlog.
"""
from __future__ import annotations

import multiprocessing
import threading
from collections import deque

import numpy as np
from PyQt6.QtCore import QObject, Qt, QThread, pyqtSignal, pyqtSlot
from PyQt6.QtGui import QImage, QMouseEvent, QPixmap, QResizeEvent, QWheelEvent
from PyQt6.QtWidgets import QLabel, QSizePolicy

from app.mesh_render import MAX_HANDS, HandPose, Rendered, serve

START_TIMEOUT_S = 60.0  # the render process imports Open3D and opens its EGL window


class MeshRenderWorker(QObject):
    """Feeds the render process and relays its pictures; every slot runs in the view's thread."""

    rendered = pyqtSignal(QImage)
    failed = pyqtSignal(str)
    finished = pyqtSignal()

    def __init__(self, faces: np.ndarray, rest_vertices: np.ndarray, rest_joints: np.ndarray,
                 width: int, height: int, max_hands: int = MAX_HANDS) -> None:
        super().__init__()
        self._scene_args = (np.asarray(faces, np.int32), np.asarray(rest_vertices, np.float64),
                            np.asarray(rest_joints, np.float64), width, height, max_hands)
        self._pending: list[HandPose] | None = None
        self._pending_lock = threading.Lock()
        self._conn = None
        self._process = None
        self.render_ms: deque[float] = deque(maxlen=120)

    # called from any thread: keep only the newest hands
    def offer(self, poses: list[HandPose]) -> None:
        with self._pending_lock:
            self._pending = list(poses)

    @pyqtSlot()
    def setup(self) -> None:
        """Start the render process and show its first picture (the rest pose)."""
        context = multiprocessing.get_context("spawn")  # never fork a process that runs Qt threads
        ours, theirs = context.Pipe()
        self._process = context.Process(target=serve, args=(theirs, *self._scene_args), name="handstream-3d",
                                        daemon=True)
        try:
            self._process.start()
        except OSError as exc:
            self.failed.emit(f"3-D view unavailable: cannot start its render process ({exc.strerror})")
            return
        theirs.close()
        self._conn = ours
        if not ours.poll(START_TIMEOUT_S):
            self._lost(f"3-D view unavailable: its render process did not start in {START_TIMEOUT_S:.0f} s")
            return
        self._receive()

    @pyqtSlot()
    def render_pending(self) -> None:
        """Show the newest offered hands (nothing to do when they were already shown)."""
        with self._pending_lock:
            poses, self._pending = self._pending, None
        if poses is not None:
            self._request("hands", poses)

    @pyqtSlot(float, float)
    def orbit(self, dx_deg: float, dy_deg: float) -> None:
        """Turn the hands about the view's vertical (drag left/right) and horizontal axes."""
        self._request("orbit", dx_deg, dy_deg)

    @pyqtSlot(float)
    def zoom(self, steps: float) -> None:
        """Wheel steps: positive brings the hands closer."""
        self._request("zoom", steps)

    @pyqtSlot()
    def reset_camera(self) -> None:
        self._request("reset")

    @pyqtSlot()
    def teardown(self) -> None:
        """End the render process (it destroys its window itself), then end the thread."""
        if self._conn is not None:
            try:
                self._conn.send(("quit",))
            except OSError:
                pass
            self._conn.close()
            self._conn = None
        if self._process is not None:
            self._process.join(5.0)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(1.0)
            self._process = None
        self.finished.emit()
        QThread.currentThread().quit()

    def kill_process(self) -> None:
        """Kill the render process (from any thread): whatever waits for it sees the pipe close."""
        process = self._process
        if process is not None and process.is_alive():
            process.kill()

    def _request(self, *message) -> None:
        if self._conn is None:
            return
        try:
            self._conn.send(message)
        except OSError:
            self._lost("3-D view stopped: its render process ended")
            return
        self._receive()

    def _receive(self) -> None:
        try:
            reply: Rendered = self._conn.recv()
        except (EOFError, OSError):
            self._lost("3-D view stopped: its render process ended")
            return
        for problem in reply.problems:
            self.failed.emit(problem)
        if reply.rgb is None:
            self._lost(None)
            return
        rgb = reply.rgb
        self.render_ms.append(reply.render_ms)
        self.rendered.emit(QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0],
                                  QImage.Format.Format_RGB888).copy())

    def _lost(self, message: str | None) -> None:
        """The process is gone or useless: say so (once) and stop talking to it."""
        if message:
            self.failed.emit(message)
        if self._conn is not None:
            self._conn.close()
            self._conn = None


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
        """End the render process and the view's thread; a process that does not answer in time (still
        starting, or hung) is killed, which frees the thread waiting for it."""
        if self._thread.isRunning():
            self._request_teardown.emit()
            if not self._thread.wait(timeout_ms):
                self._worker.kill_process()
                self._thread.wait(timeout_ms)

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
