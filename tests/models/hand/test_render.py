"""Docs renders: Open3D's hidden-window renderer draws the hand (headless via EGL) where the camera looks."""
from __future__ import annotations

import numpy as np
import pytest

from models.hand.model import load_hand_model
from models.hand.poses import named_pose

o3d = pytest.importorskip("open3d")

from models.hand.render import render_meshes  # noqa: E402


def _skin_fraction(path) -> float:
    image = np.asarray(o3d.io.read_image(str(path))).astype(np.float64)
    background = np.all(image > 250, axis=2)
    return 1.0 - background.mean()


def test_renders_show_the_hand_and_side_by_side_pairs(tmp_path):
    model = load_hand_model()
    rest = model.forward(named_pose("flat")).vertices[0]
    one = render_meshes([(rest, model.faces)], tmp_path / "rest.png", "back", size=(160, 160))
    covered = _skin_fraction(one)
    assert 0.05 < covered < 0.6  # a hand in the frame, not an empty or a filled image
    image = np.asarray(o3d.io.read_image(str(one)))
    assert image.shape[:2] == (160, 160)
    assert np.all(image[0] > 250) and np.all(image[-1] > 250)  # framed with margins

    pair = render_meshes([(rest, model.faces), (rest, model.faces)], tmp_path / "pair.png", "back", size=(160, 160))
    image = np.asarray(o3d.io.read_image(str(pair)))
    assert image.shape[:2] == (160, 320)
    left, right = image[:, :160], image[:, 160:]
    assert (left < 250).any() and (right < 250).any()  # one hand on each side
