"""Skin templates and backgrounds: many distinct tones, moving patches, clear errors for bad folders."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.synth.backgrounds import Backgrounds
from models.synth.skin import skin_template, skin_tones


def test_at_least_twenty_distinct_skin_tones_from_light_to_dark(hand_model) -> None:
    tones = skin_tones(24)
    assert tones.shape == (24, 3)
    gaps = np.linalg.norm(tones[:, None] - tones[None], axis=-1) + np.eye(24)
    assert gaps.min() > 0.02  # all distinct
    lum = tones @ [0.299, 0.587, 0.114]
    assert lum[0] > 0.8 and lum[-1] < 0.25 and np.all(np.diff(lum) < 0)
    rng = np.random.default_rng(0)
    template = skin_template(hand_model.v_template, tones[5], rng)
    assert template.shape == (hand_model.num_vertices, 3)
    assert template.std(0).mean() > 0.005  # not a flat colour
    palm = hand_model.v_template[:, 1] < np.median(hand_model.v_template[:, 1])
    assert template[palm].mean() > template[~palm].mean()  # lighter palm side


def test_background_patches_move_across_an_image_folder(tmp_path) -> None:
    img = np.random.default_rng(1).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "a.jpg"), img)
    patches = Backgrounds(tmp_path).patches(np.random.default_rng(2), 5, 64)
    assert patches.shape == (5, 64, 64, 3) and patches.dtype == np.uint8
    assert not np.array_equal(patches[0], patches[-1])
    procedural = Backgrounds(seed=3, num_procedural=2).patches(np.random.default_rng(0), 3, 32)
    assert procedural.shape == (3, 32, 32, 3) and procedural.std() > 5


def test_background_folder_errors(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        Backgrounds(tmp_path / "nope")
    with pytest.raises(ValueError, match="no .jpg"):
        Backgrounds(tmp_path)
