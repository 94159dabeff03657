"""The render process's side of the 3-D view: its pipe protocol, run here in a thread of the test."""
from __future__ import annotations

import multiprocessing
import threading

import numpy as np

import app.mesh_render
from app.mesh_render import BACKGROUND, HandPose, Rendered, serve
from models.hand.model import load_hand_model


def _foreground(rgb: np.ndarray) -> float:
    return float(np.mean(np.abs(rgb.astype(np.float32) - np.array(BACKGROUND) * 255.0).sum(axis=2) > 30))


def _serving(*args):
    ours, theirs = multiprocessing.Pipe()
    thread = threading.Thread(target=serve, args=(theirs, *args), daemon=True)
    thread.start()
    return ours, thread


def test_each_request_is_answered_with_a_picture_and_quit_ends_it() -> None:
    hand = load_hand_model()
    out = hand.forward(np.zeros((1, 10)), np.zeros((1, 10)))
    vertices, joints = out.vertices[0] * 1000.0 + [0, 0, 500], out.joints[0] * 1000.0 + [0, 0, 500]
    conn, thread = _serving(hand.faces, vertices, joints, 200, 150)
    first: Rendered = conn.recv()  # the rest pose, unasked
    assert first.rgb.shape == (150, 200, 3) and first.rgb.dtype == np.uint8 and first.problems == []
    assert 0.02 < _foreground(first.rgb) < 0.9 and first.render_ms > 0
    conn.send(("zoom", 4.0))
    closer: Rendered = conn.recv()
    assert _foreground(closer.rgb) > 1.5 * _foreground(first.rgb)
    conn.send(("hands", [HandPose(None, joints)]))  # joints only: the surface goes
    assert _foreground(conn.recv().rgb) < _foreground(closer.rgb) / 3
    conn.send(("quit",))
    thread.join(10.0)
    assert not thread.is_alive()


def test_a_scene_that_cannot_be_built_says_why_and_ends(monkeypatch) -> None:
    def no_gl(*args):
        raise RuntimeError("Open3D could not create an off-screen window (no OpenGL/EGL)")

    monkeypatch.setattr(app.mesh_render, "MeshScene", no_gl)
    conn, thread = _serving(np.zeros((1, 3), np.int32), np.zeros((3, 3)), np.zeros((21, 3)), 64, 48)
    reply: Rendered = conn.recv()
    assert reply.rgb is None
    assert reply.problems == ["3-D view unavailable: Open3D could not create an off-screen window (no OpenGL/EGL)"]
    thread.join(5.0)
    assert not thread.is_alive()
