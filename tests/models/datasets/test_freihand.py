"""FreiHAND reader on tiny files written here in the official layout."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.datasets.freihand import FreiHand, FreiHandOptions

K = [[200.0, 0.0, 112.0], [0.0, 200.0, 112.0], [0.0, 0.0, 1.0]]


def _write(root: Path, n_labels: int = 2, versions: int = 2) -> np.ndarray:
    rng = np.random.default_rng(1)
    xyz = np.stack([rng.uniform([-0.04, -0.04, 0.45], [0.04, 0.04, 0.55], (21, 3)) for _ in range(n_labels)])
    (root / "rgb").mkdir(parents=True)
    (root / "mask").mkdir()
    (root / "training_xyz.json").write_text(json.dumps(xyz.tolist()))
    (root / "training_K.json").write_text(json.dumps([K] * n_labels))
    (root / "training_verts.json").write_text(json.dumps(np.zeros((n_labels, 30, 3)).tolist()))
    for i in range(n_labels * versions):
        label = i % n_labels
        img = np.zeros((224, 224, 3), np.uint8)
        u, v = (np.array(K) @ xyz[label, 4])[:2] / xyz[label, 4, 2]  # the thumb tip: a white dot
        cv2.circle(img, (round(u), round(v)), 5, (255, 255, 255), -1)
        cv2.imwrite(str(root / "rgb" / f"{i:08d}.jpg"), img)
    for label in range(n_labels):
        mask = np.zeros((224, 224), np.uint8)
        u, v = (np.array(K) @ xyz[label, 4])[:2] / xyz[label, 4, 2]
        cv2.circle(mask, (round(u), round(v)), 30, 255, -1)  # "hand": a disc around the thumb tip
        cv2.imwrite(str(root / "mask" / f"{label:08d}.jpg"), mask)
    return xyz


def test_labels_follow_the_repositioned_crop(tmp_path: Path) -> None:
    xyz = _write(tmp_path)
    data = FreiHand(tmp_path, FreiHandOptions(size=64, reposition=True, shift=0.2, scale=0.2, seed=3))
    assert len(data) == 4
    for i in range(len(data)):
        s = data[i]
        assert s.image.shape == (64, 64, 3) and s.mask.shape == (64, 64)
        np.testing.assert_allclose(s.joints_3d, xyz[i % 2], atol=1e-6)
        assert s.vertices_3d.shape == (30, 3) and not s.palm_root
        # the white dot drawn at the thumb tip is where joints_2d says it is in the crop
        x, y = (s.joints_2d[4] + 1) / 2 * 64 - 0.5
        assert s.image[round(y), round(x)].min() > 150
        # the mask moved with the image: on at the thumb tip, off half a crop away from it
        assert s.mask[round(y), round(x)] == 1
        far = (round(y) + 32) % 64, (round(x) + 32) % 64
        assert s.mask[far] == 0


def test_without_repositioning_the_whole_image_is_the_crop(tmp_path: Path) -> None:
    xyz = _write(tmp_path)
    s = FreiHand(tmp_path, FreiHandOptions(size=224, reposition=False))[1]
    uv = (np.array(K) @ xyz[1].T).T
    uv = uv[:, :2] / uv[:, 2:]
    np.testing.assert_allclose(s.joints_2d, (uv + 0.5) / 224 * 2 - 1, atol=1e-5)


def test_missing_and_malformed_labels_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        FreiHand(tmp_path / "nope")
    _write(tmp_path)
    (tmp_path / "training_K.json").write_text("[[1, 2]")
    with pytest.raises(ValueError, match="training_K.json: not valid JSON"):
        FreiHand(tmp_path)
