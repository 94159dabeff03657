"""The real main window, offscreen, on the demo source with a tiny contract-following model."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from app.live_runner import LiveOptions
from app.window import MainWindow
from engine.session import SessionReader

ENGINE_THREADS = ("pipeline", "capture-", "session-writer", "session-sync")


@pytest.fixture
def window(qtbot, app_seqhand_model, tmp_path):
    w = MainWindow(LiveOptions(source="demo", model="seqhand", model_path=app_seqhand_model),
                   record_root=tmp_path / "sessions")
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


def _start(qtbot, w: MainWindow) -> bool:
    """Start (on the window's helper thread) and wait for the outcome."""
    with qtbot.waitSignal(w.started, timeout=30000) as outcome:
        w.start()
    return outcome.args[0]


def _wait_frames(qtbot, w: MainWindow, n: int) -> None:
    target = w.frames_displayed + n
    qtbot.waitUntil(lambda: w.frames_displayed >= target or w.error_text is not None, timeout=30000)
    assert w.error_text is None


def test_opens_on_demo_frames_advance_and_the_3d_view_follows(window, qtbot, image_array):
    w = window
    assert _start(qtbot, w)
    _wait_frames(qtbot, w, 5)
    first_index = w.runner.stats().frames
    qtbot.waitUntil(lambda: w.mesh_view.frames_shown >= 3, timeout=20000)
    before = image_array(w.mesh_view.image())
    shown = w.mesh_view.frames_shown
    _wait_frames(qtbot, w, 10)
    qtbot.waitUntil(lambda: w.mesh_view.frames_shown > shown + 3, timeout=20000)
    after = image_array(w.mesh_view.image())
    assert w.runner.stats().frames > first_index
    background = np.median(after.reshape(-1, 3), axis=0)
    assert np.mean(np.abs(after.astype(np.float32) - background).sum(axis=2) > 30) > 0.01  # not blank
    assert np.mean(np.abs(after.astype(np.float32) - before)) > 0.5  # the hand moved
    qtbot.waitUntil(lambda: "engine" in w.status_label.text(), timeout=5000)
    assert "fps" in w.status_label.text() and "net" in w.status_label.text()


def test_lock_button_locks_the_engine_and_flattens_the_beta_plot(window, qtbot):
    w = window
    assert _start(qtbot, w)
    qtbot.waitUntil(lambda: len(w.beta_plot.series()[0]) >= 10, timeout=30000)
    qtbot.mouseClick(w.lock_button, Qt.MouseButton.LeftButton)
    assert w.error_text is None
    assert w.runner.engine.shape_locked
    assert w.lock_button.text() == "Unlock shape"
    qtbot.waitUntil(lambda: w.beta_plot.series()[2].sum() >= 10, timeout=30000)
    _, betas, locked = w.beta_plot.series()
    assert np.ptp(betas[~locked], axis=0).max() > 1e-4        # before: beta follows the model
    assert np.ptp(betas[locked], axis=0).max() == 0.0         # after: flat lines
    qtbot.keyClick(w, Qt.Key.Key_L)                           # the shortcut unlocks again
    assert not w.runner.engine.shape_locked
    assert w.lock_button.text() == "Lock shape"


def test_record_writes_a_session_that_reads_back(window, qtbot, tmp_path):
    w = window
    assert _start(qtbot, w)
    _wait_frames(qtbot, w, 2)
    qtbot.keyClick(w, Qt.Key.Key_R)
    assert w.runner.recorder is not None, w.error_text
    qtbot.waitUntil(lambda: w.runner.recorder.status().frames_written >= 5, timeout=30000)
    qtbot.mouseClick(w.record_button, Qt.MouseButton.LeftButton)
    assert w.runner.recorder is None
    session = SessionReader(w.last_session)
    assert w.last_session.parent == tmp_path / "sessions"
    assert len(session) >= 5
    results = session.results()
    assert any(r is not None and r.hands for r in results)
    assert session.frame(0).rgb is not None and session.frame(0).rgb.shape == (480, 640, 3)
    w.source_box.setCurrentText(str(w.last_session))          # replay it: a finite source
    assert _start(qtbot, w), w.error_text
    qtbot.waitUntil(lambda: not w.runner.running, timeout=30000)
    qtbot.waitUntil(lambda: w.status_label.text().startswith("stopped after"), timeout=5000)
    assert w.error_text is None


def test_missing_camera_and_model_show_errors_and_the_app_goes_on(window, qtbot, tmp_path):
    w = window
    w.source_box.setCurrentText("9")
    assert not _start(qtbot, w)
    assert w.error_banner.isVisible() and "webcam 9" in w.error_text
    assert not w.runner.running
    w.source_box.setCurrentText("demo")
    model = w.model_paths["seqhand"]
    w.model_paths["seqhand"] = tmp_path / "missing.onnx"
    assert not _start(qtbot, w)
    assert "missing.onnx" in w.error_text and "\n" not in w.error_text
    w.model_paths["seqhand"] = model       # the window is still usable
    assert _start(qtbot, w)
    assert not w.error_banner.isVisible()
    _wait_frames(qtbot, w, 2)
    w.record_root = tmp_path / "a-file"   # recording into a folder that cannot be made
    w.record_root.write_text("not a folder")
    qtbot.keyClick(w, Qt.Key.Key_R)
    assert w.error_text.startswith("recording failed:") and "a-file" in w.error_text
    assert w.runner.recorder is None and w.runner.running


def test_space_starts_and_closing_stops_every_thread(window, qtbot):
    w = window
    with qtbot.waitSignal(w.started, timeout=30000):
        qtbot.keyClick(w, Qt.Key.Key_Space)
    assert w.runner.running, w.error_text
    _wait_frames(qtbot, w, 3)
    qtbot.keyClick(w, Qt.Key.Key_R)
    assert w.runner.recorder is not None
    qtbot.keyClick(w, Qt.Key.Key_Escape)                      # Esc closes the window
    assert not w.isVisible()
    alive = [t.name for t in threading.enumerate() if t.name.startswith(ENGINE_THREADS)]
    assert alive == []
    assert not w.mesh_view.running


def test_cadstn_shows_colour_mapped_depth_and_joints_only(window, qtbot, app_cadstn_model, image_array):
    w = window
    w.model_paths["cadstn"] = app_cadstn_model
    w.model_box.setCurrentIndex(w.model_box.findData("cadstn"))
    assert _start(qtbot, w), w.error_text
    _wait_frames(qtbot, w, 3)
    picture = image_array(w.video.pixmap().toImage())
    saturated = np.ptp(picture.astype(int), axis=2) > 100     # TURBO colours, not the grey demo wall
    assert saturated.mean() > 0.3
    assert not w.lock_button.isEnabled()
    qtbot.keyClick(w, Qt.Key.Key_L)                          # no shape to lock: said in the window
    assert "shape" in w.error_text and w.runner.running


def test_closing_while_a_start_is_under_way_leaves_no_threads(window):
    w = window
    w.start()
    assert w.starting and not w.start_button.isEnabled()
    w.close()
    assert not w.runner.running
    alive = [t.name for t in threading.enumerate() if t.name.startswith(ENGINE_THREADS + ("app-start",))]
    assert alive == []


def test_picking_a_realsense_source_switches_to_the_depth_model(window, qtbot):
    w = window
    assert w.model_box.currentData() == "seqhand"
    w.source_box.textActivated.emit("realsense")  # as a user's pick in the list does
    assert w.model_box.currentData() == "cadstn"
    assert not w.runner.running  # picking does not start a run that was not running
