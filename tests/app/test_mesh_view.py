"""The Open3D 3-D view, rendered in its own process: draws the hand, follows new poses, orbits, shuts down,
and says in one line when its renderer is gone."""
from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import QPoint, Qt

from app.mesh_render import BACKGROUND, HandPose
from app.mesh_view import MeshView
from models.hand.model import load_hand_model

CAMERA_OFFSET_MM = np.array([0.0, 0.0, 500.0])


def _posed(hand, pca: np.ndarray, orient: np.ndarray) -> HandPose:
    out = hand.forward(pca[None], np.zeros((1, 10)), global_orient=orient[None])
    return HandPose(out.vertices[0] * 1000.0 + CAMERA_OFFSET_MM, out.joints[0] * 1000.0 + CAMERA_OFFSET_MM)


def _foreground(pixels: np.ndarray) -> float:
    """Fraction of pixels that are not the background colour."""
    bg = np.array(BACKGROUND) * 255.0
    return float(np.mean(np.abs(pixels.astype(np.float32) - bg).sum(axis=2) > 30))


@pytest.fixture
def view(qtbot):
    hand = load_hand_model()
    rest = _posed(hand, np.zeros(10), np.array([0.0, 0.0, 0.0]))
    widget = MeshView(hand.faces, rest.vertices, rest.joints, width=320, height=240)
    qtbot.addWidget(widget)
    widget.resize(320, 240)
    widget.show()
    qtbot.waitUntil(lambda: widget.frames_shown >= 1 or widget.error is not None, timeout=20000)
    assert widget.error is None
    yield hand, widget
    widget.close_renderer()


def test_renders_a_hand_that_follows_new_poses(view, qtbot, image_array):
    hand, widget = view
    first = image_array(widget.image())
    assert first.shape == (240, 320, 3)
    assert 0.02 < _foreground(first) < 0.9  # a hand on the background, neither blank nor all hand

    shown = widget.frames_shown
    widget.show_hands([_posed(hand, np.full(10, 1.5), np.array([0.0, 1.2, 0.0]))])
    qtbot.waitUntil(lambda: widget.frames_shown > shown, timeout=10000)
    moved = image_array(widget.image())
    assert _foreground(moved) > 0.02
    assert np.mean(np.abs(moved.astype(np.float32) - first)) > 2.0  # the picture changed with the pose
    assert widget.render_ms() and np.median(widget.render_ms()) < 1000


def test_mouse_drag_orbits_the_camera(view, qtbot, image_array):
    hand, widget = view
    before = image_array(widget.image())
    shown = widget.frames_shown
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
    qtbot.mouseMove(widget, QPoint(120, 40))
    qtbot.waitUntil(lambda: widget.frames_shown > shown, timeout=10000)
    after = image_array(widget.image())
    assert np.mean(np.abs(after.astype(np.float32) - before)) > 2.0


def test_joints_only_pose_hides_the_surface(view, qtbot, image_array):
    hand, widget = view
    full = _foreground(image_array(widget.image()))
    pose = _posed(hand, np.zeros(10), np.zeros(3))
    shown = widget.frames_shown
    widget.show_hands([HandPose(None, pose.joints)])
    qtbot.waitUntil(lambda: widget.frames_shown > shown, timeout=10000)
    joints_only = _foreground(image_array(widget.image()))
    assert 0.0 < joints_only < full / 3


def test_close_renderer_ends_the_render_thread(view):
    _, widget = view
    assert widget.running
    widget.close_renderer()
    assert not widget.running


def test_two_hands_are_drawn_side_by_side_and_a_left_hand_is_mirrored(view, qtbot, image_array):
    hand, widget = view
    one = _posed(hand, np.zeros(10), np.zeros(3))
    # mirror images about x = 0, moved far enough (400 mm) that the view re-centres at once
    left = HandPose(one.vertices * [-1.0, 1.0, 1.0] + [-60.0, 0.0, 400.0],
                    one.joints * [-1.0, 1.0, 1.0] + [-60.0, 0.0, 400.0], left=True)
    right = HandPose(one.vertices + [60.0, 0.0, 400.0], one.joints + [60.0, 0.0, 400.0])
    shown = widget.frames_shown
    widget.show_hands([left, right])
    qtbot.waitUntil(lambda: widget.frames_shown > shown, timeout=10000)
    pair = image_array(widget.image())
    half = pair.shape[1] // 2
    assert _foreground(pair[:, :half]) > 0.02 and _foreground(pair[:, half:]) > 0.02  # one hand each side
    # mirror images: the picture is (nearly) symmetric about the vertical centre line
    mask = np.abs(pair.astype(np.float32) - np.array(BACKGROUND) * 255.0).sum(axis=2) > 30
    assert np.mean(mask == mask[:, ::-1]) > 0.95


def test_a_render_process_that_dies_is_one_line_in_the_view_not_a_hang(view, qtbot):
    hand, widget = view
    process = widget._worker._process
    process.kill()
    process.join(5.0)
    widget.show_hands([_posed(hand, np.zeros(10), np.zeros(3))])
    qtbot.waitUntil(lambda: widget.error is not None, timeout=10000)
    assert widget.error == "3-D view stopped: its render process ended"
    widget.close_renderer()
    assert not widget.running


def test_a_mesh_of_another_hand_model_is_said_once_and_its_joints_still_drawn(view, qtbot, image_array):
    hand, widget = view
    pose = _posed(hand, np.zeros(10), np.zeros(3))
    shown = widget.frames_shown
    widget.show_hands([HandPose(pose.vertices[:500], pose.joints)])
    qtbot.waitUntil(lambda: widget.frames_shown > shown, timeout=10000)
    assert widget.error is not None and widget.error.endswith("showing joints only")
    assert "the hand has 500 vertices" in widget.error
    assert _foreground(image_array(widget.image())) > 0.0


def _never_answers(conn, *args) -> None:
    """A render process that hangs before its first picture."""
    import time

    time.sleep(120)


def test_closing_while_the_render_process_hangs_kills_it_and_ends_the_thread(qtbot, monkeypatch):
    import app.mesh_view

    monkeypatch.setattr(app.mesh_view, "serve", _never_answers)
    hand = load_hand_model()
    widget = MeshView(hand.faces, hand.v_template * 1000.0, np.zeros((21, 3)), width=64, height=48)
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: widget._worker._process is not None and widget._worker._process.is_alive(),
                    timeout=10000)
    widget.close_renderer(timeout_ms=1000)
    assert not widget.running and widget.frames_shown == 0
    qtbot.waitUntil(lambda: widget.error is not None, timeout=5000)  # the thread's last word, queued to Qt
    assert widget.error == "3-D view stopped: its render process ended"
