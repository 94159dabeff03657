"""The handstream main window: camera view with overlays, the 3-D hand, the β plot and the controls.

Threads: capture and inference run in the engine's threads (``LiveRunner``), the 3-D rendering in
its own ``QThread`` (``MeshView``), and starting (opening a camera, loading models: seconds) on a
short-lived helper thread; this window only draws what they hand over, so it never freezes. Every user error
(no camera, model missing, recording failed) lands in the red banner above the views, never as a
traceback, and the app stays usable.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path

import numpy as np
from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QCloseEvent, QKeySequence, QPixmap, QShortcut
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.beta_plot import BetaPlot
from app.live_runner import MODEL_LABELS, LiveOptions, LiveRunner, session_folder
from app.overlays import draw_overlays, frame_image
from engine.estimators import KINDS
from engine.sources import DEPTH_MODEL, default_model

SOURCE_CHOICES = ("demo", "0", "realsense")
OPEN_FILE = "Open file…"
STAT_STAGES = (("detect", "detect"), ("crop", "crop"), ("inference", "net"), ("hand_model", "hand model"),
               ("latency", "latency"))
HAND_REST_DISTANCE_MM = 500.0
STARTUP_WAIT_S = 15.0  # closing waits this long for a camera that is still opening
# hand model axes -> camera axes: the rest hand stands upright, palm towards the camera
REST_ROTATION = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


class MainWindow(QMainWindow):
    """One window for a live run. ``start()`` begins with the options given; the pickers change them."""

    started = pyqtSignal(bool)          # a start finished: True when running, False (see error_text)
    _start_done = pyqtSignal(object)    # from the start thread: None or the error message

    def __init__(self, options: LiveOptions | None = None, record_root: Path = Path("sessions")) -> None:
        super().__init__()
        self.options = options or LiveOptions()
        self.record_root = Path(record_root)
        self.runner = LiveRunner(self)
        self.runner.result_ready.connect(self._show_latest)
        self._start_done.connect(self._on_start_done)
        self._starter: threading.Thread | None = None
        self._start_pending = False
        self._closing = False
        self.error_text: str | None = None
        self.frames_displayed = 0
        self.last_session: Path | None = None
        self._display_times: deque[float] = deque(maxlen=90)
        # the ONNX file per model kind; None = the shipped one
        self.model_paths: dict[str, Path | None] = {self.options.model: self.options.model_path}
        self.setWindowTitle("handstream")
        self._build()
        self._stats_timer = QTimer(self)
        self._stats_timer.setInterval(250)
        self._stats_timer.timeout.connect(self._refresh_status)
        self._stats_timer.start()
        self._sync_controls()

    # -- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.source_box = QComboBox()
        self.source_box.setEditable(True)
        self.source_box.addItems([*SOURCE_CHOICES, OPEN_FILE])
        if self.options.source not in SOURCE_CHOICES:
            self.source_box.insertItem(0, self.options.source)
        self.source_box.setCurrentText(self.options.source)
        self.source_box.setToolTip("demo, a webcam index (0, 1 …), realsense, a video file, a .bag/.db3 "
                                   "recording or a session folder")
        self.source_box.setMinimumContentsLength(14)
        self.source_box.textActivated.connect(self._source_picked)
        self.source_box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # Space, R, L stay shortcuts
        self.model_box = QComboBox()
        for kind, label in MODEL_LABELS.items():
            self.model_box.addItem(label, kind)
        self.model_box.setCurrentIndex(self.model_box.findData(self.options.model))
        self.model_box.activated.connect(self._model_picked)
        self.model_box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.start_button = self._button("Start", "Start or stop the live run (Space)", self.toggle_running)
        self.record_button = self._button("Record", "Record a session to disk (R)", self.toggle_recording)
        self.lock_button = self._button("Lock shape", "Fix the hand's shape β to its recent mean (L)",
                                        self.toggle_lock)
        self.lock_button.setCheckable(True)
        self.reset_button = self._button("Reset tracking", "Forget tracks and recurrent state",
                                         self.reset_tracking)
        self.overlay_check = QCheckBox("Overlays")
        self.overlay_check.setChecked(True)
        self.overlay_check.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Source"))
        controls.addWidget(self.source_box)
        controls.addWidget(QLabel("Model"))
        controls.addWidget(self.model_box)
        for w in (self.start_button, self.record_button, self.lock_button, self.reset_button,
                  self.overlay_check):
            controls.addWidget(w)
        controls.addStretch(1)

        self.error_banner = QLabel()
        self.error_banner.setWordWrap(True)
        self.error_banner.setStyleSheet("background: #8b1e1e; color: white; padding: 6px; font-weight: bold;")
        self.error_banner.hide()

        self.video = QLabel("press Start (Space)")
        self.video.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.video.setMinimumSize(320, 240)
        self.video.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.video.setStyleSheet("background: black; color: #ccc;")
        self.video.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.mesh_view = self._make_mesh_view()
        if hasattr(self.mesh_view, "problem"):
            self.mesh_view.problem.connect(self.show_error)
        self.beta_plot = BetaPlot(seconds=5.0)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.mesh_view, 1)
        right_layout.addWidget(self.beta_plot)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.video)
        splitter.addWidget(right)
        splitter.setSizes([640, 480])

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(controls)
        layout.addWidget(self.error_banner)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self.status_label = QLabel("stopped")
        self.statusBar().addWidget(self.status_label, 1)
        self.record_label = QLabel()
        self.statusBar().addPermanentWidget(self.record_label)
        self.resize(1180, 620)
        self.video.setFocus()

        for key, slot in (("Space", self.toggle_running), ("R", self.toggle_recording),
                          ("L", self.toggle_lock), ("Esc", self.close)):
            QShortcut(QKeySequence(key), self, activated=slot)

    def _button(self, text: str, tip: str, slot) -> QPushButton:
        b = QPushButton(text)
        b.setToolTip(tip)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keep Space for the shortcut
        b.clicked.connect(slot)
        return b

    def _make_mesh_view(self) -> QWidget:
        """The Open3D view of the hand model in use; a message instead when the model cannot load."""
        from models.hand.model import load_hand_model

        try:
            hand = load_hand_model(self.options.hand_model_path)
            rest = hand.forward(np.zeros((1, 45)), np.zeros((1, 10)))
        except (OSError, ValueError) as exc:
            label = QLabel(f"3-D view unavailable: {exc}")
            label.setWordWrap(True)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            return label
        from app.mesh_view import MeshView

        # shown until the first hand arrives: palm towards the camera, fingers up
        to_camera = REST_ROTATION.T * 1000.0
        offset = np.array([0.0, 0.0, HAND_REST_DISTANCE_MM])
        return MeshView(hand.faces, rest.vertices[0] @ to_camera + offset, rest.joints[0] @ to_camera + offset)

    # -- actions -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start with the pickers' source and model. Opening a camera and loading the models can
        take seconds, so it happens on a helper thread; ``started`` says how it went (errors also
        go to the banner). Ignored while a start is already under way."""
        if self.starting:
            return
        self.stop()
        model = self.model_box.currentData()
        self.options.source = self.source_box.currentText().strip()
        self.options.model = model
        self.options.model_path = self.model_paths.get(model)
        self._starter = threading.Thread(target=self._start_in_background, args=(self.options,),
                                         name="app-start", daemon=True)
        self.status_label.setText(f"starting {self.options.source} with {MODEL_LABELS[model]} …")
        self._start_pending = True
        self._starter.start()
        self._sync_controls()

    @property
    def starting(self) -> bool:
        """A start is under way (its result has not reached the window yet)."""
        return self._start_pending

    def _start_in_background(self, options: LiveOptions) -> None:
        try:
            self.runner.start(options)
            error = None
        except (OSError, ValueError, RuntimeError) as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - anything else still belongs in the window
            error = f"cannot start {options.source}: {type(exc).__name__}: {exc}"
        self._start_done.emit(error)

    def _on_start_done(self, error: str | None) -> None:
        self._start_pending = False
        if self._closing:
            self.runner.stop()
            return
        if error is None:
            self.clear_error()
            self.beta_plot.clear()
            self._display_times.clear()
        else:
            self.show_error(error)
        self._sync_controls()
        self.started.emit(error is None)

    def stop(self) -> None:
        self._finish_recording()
        self.runner.stop()
        self._sync_controls()

    def toggle_running(self) -> None:
        if self.starting:
            return
        if self.runner.running:
            self.stop()
        else:
            self.start()

    def toggle_recording(self) -> None:
        if self.runner.recorder is not None:
            self._finish_recording()
        elif not self.runner.running:
            self.show_error("start a source before recording")
        else:
            try:
                self.last_session = self.runner.start_recording(session_folder(self.record_root))
            except (OSError, ValueError) as exc:
                self.show_error(f"recording failed: {exc}")
        self._sync_controls()

    def toggle_lock(self) -> None:
        engine = self.runner.engine
        if engine is None:
            self.show_error("start a source before locking the shape")
        else:
            try:
                engine.unlock_shape() if engine.shape_locked else engine.lock_shape()
            except ValueError as exc:
                self.show_error(str(exc))
        self._sync_controls()

    def reset_tracking(self) -> None:
        if self.runner.engine is not None:
            self.runner.engine.reset()
            self.beta_plot.clear()

    def show_error(self, message: str) -> None:
        """Show a one-line problem in the window (the app keeps running)."""
        self.error_text = message
        self.error_banner.setText(message)
        self.error_banner.show()

    def clear_error(self) -> None:
        self.error_text = None
        self.error_banner.hide()

    def display_fps(self) -> float:
        """Frames drawn per second over the last few seconds."""
        t = self._display_times
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 0.0

    def shutdown(self) -> None:
        """Stop every thread this window started (engine, capture, recorder, renderer)."""
        self._closing = True
        self._stats_timer.stop()
        if self._starter is not None:
            self._starter.join(STARTUP_WAIT_S)  # a start under way finishes, then is stopped
        self.stop()
        if hasattr(self.mesh_view, "close_renderer"):
            self.mesh_view.close_renderer()

    # -- Qt ----------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt name
        self.shutdown()
        super().closeEvent(event)

    def _source_picked(self, text: str) -> None:
        if text == OPEN_FILE:
            path, _ = QFileDialog.getOpenFileName(
                self, "Open a video or a RealSense recording", "",
                "Videos and recordings (*.mp4 *.avi *.mov *.mkv *.webm *.bag *.db3);;All files (*)")
            if not path:
                self.source_box.setCurrentText(self.options.source)
                return
            self.source_box.insertItem(0, path)
            self.source_box.setCurrentText(path)
        if default_model(path if text == OPEN_FILE else text) == DEPTH_MODEL:  # a depth camera or recording
            self.model_box.setCurrentIndex(self.model_box.findData(DEPTH_MODEL))
        self.video.setFocus()
        if self.runner.running:
            self.start()

    def _model_picked(self, _index: int) -> None:
        self.video.setFocus()
        if self.runner.running:
            self.start()
        self._sync_controls()

    def _show_latest(self) -> None:
        latest = self.runner.take_latest()
        if latest is None:
            return
        frame, result = latest
        depth_view = KINDS[self.model_box.currentData()].image == "depth"
        try:
            image = frame_image(frame, show_depth=depth_view)
        except ValueError as exc:
            self.show_error(str(exc))
            return
        if self.overlay_check.isChecked():
            draw_overlays(image, result)
        self.video.setPixmap(QPixmap.fromImage(image).scaled(
            self.video.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation))
        self.frames_displayed += 1
        self._display_times.append(time.monotonic())
        if result.hands:  # without hands the 3-D view keeps the last ones (no flicker on a miss)
            hand = max(result.hands, key=lambda h: h.confidence)
            if hand.theta.size:  # a shape-estimating model (SeqHAND-Net)
                self.beta_plot.add(result.timestamp, hand.beta, result.shape_locked)
            if hasattr(self.mesh_view, "show_hands"):
                from app.mesh_render import HandPose

                self.mesh_view.show_hands([HandPose(h.vertices, h.joints_3d, h.handedness == "left")
                                           for h in sorted(result.hands, key=lambda h: h.track_id)])
        if result.shape_locked != self.lock_button.isChecked():
            self._sync_controls()

    def _refresh_status(self) -> None:
        if self.starting:
            return
        stats = self.runner.stats()
        if stats is None:
            self.status_label.setText("stopped")
            return
        if not stats.running:  # finite source finished, or the source/engine failed
            if stats.error:
                self.show_error(stats.error)
            self.stop()
            self.status_label.setText(f"stopped after {stats.frames} frames")
            return
        parts = [f"{self.runner.source.name}", f"engine {stats.fps:.1f} fps",
                 f"display {self.display_fps():.1f} fps"]
        for key, label in STAT_STAGES:
            if key in stats.stages:
                parts.append(f"{label} {stats.stages[key].median_ms:.1f} ms")
        render = self.mesh_view.render_ms() if hasattr(self.mesh_view, "render_ms") else []
        if render:
            parts.append(f"3-D {np.median(render):.1f} ms")
        if stats.dropped:
            parts.append(f"dropped {stats.dropped}")
        if stats.status and not stats.status.startswith("running"):  # e.g. a camera reconnecting
            parts.append(stats.status)
        self.status_label.setText(" · ".join(parts))
        recorder = self.runner.recorder
        if recorder is not None:
            status = recorder.status()
            dropped = f", {status.frames_dropped} dropped" if status.frames_dropped else ""
            self.record_label.setText(f"● REC {status.frames_written} frames{dropped}")
            if status.error:
                self.show_error(f"recording failed: {status.error}")
                self._finish_recording()
                self._sync_controls()

    def _finish_recording(self) -> None:
        status = self.runner.stop_recording()
        if status is not None:
            what = "recording failed after" if status.error else "saved"
            self.record_label.setText(f"{what} {status.frames_written} frames → {status.path}")

    def _sync_controls(self) -> None:
        running = self.runner.running
        self.start_button.setText("Stop" if running else "Start")
        self.start_button.setEnabled(not self.starting)
        recording = self.runner.recorder is not None
        self.record_button.setText("Stop recording" if recording else "Record")
        self.record_button.setEnabled(running)
        engine = self.runner.engine
        locked = engine is not None and engine.shape_locked
        self.lock_button.setChecked(locked)
        self.lock_button.setText("Unlock shape" if locked else "Lock shape")
        self.lock_button.setEnabled(running and KINDS[self.model_box.currentData()].estimates_shape)
        self.reset_button.setEnabled(running)
