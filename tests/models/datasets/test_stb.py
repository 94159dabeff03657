"""STB reader on tiny label/image files written here in the official layout."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io

from models.datasets.stb import CAMERAS, SK_DEPTH_TO_COLOR_ROTVEC, SK_DEPTH_TO_COLOR_T_MM, Stb, StbOptions


def _write(root: Path, seq: str, colour_xyz_mm: np.ndarray, camera: str) -> None:
    """Labels in STB order; SK labels are stored in the depth camera's frame as in the dataset."""
    xyz = colour_xyz_mm
    if camera == "SK":
        rot, _ = cv2.Rodrigues(SK_DEPTH_TO_COLOR_ROTVEC)
        xyz = xyz @ rot + SK_DEPTH_TO_COLOR_T_MM  # colour -> depth: R^T x + t
    (root / "labels").mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(root / "labels" / f"{seq}_{camera}.mat", {"handPara": np.transpose(xyz, (2, 1, 0))})
    (root / seq).mkdir(exist_ok=True)
    prefix = "SK_color" if camera == "SK" else "BB_left"
    for i, joints in enumerate(colour_xyz_mm):
        img = np.zeros((480, 640, 3), np.uint8)
        uv = (CAMERAS[camera].matrix @ joints[20])[:2] / joints[20, 2]  # STB joint 20 = thumb tip: a red dot
        cv2.circle(img, (round(uv[0]), round(uv[1])), 4, (0, 0, 255), -1)
        cv2.imwrite(str(root / seq / f"{prefix}_{i}.png"), img)


def _hands(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform([-60, -60, 350], [60, 60, 450], (n, 21, 3))


@pytest.mark.parametrize("camera", ["SK", "BB"])
def test_joints_reordered_into_colour_frame_and_crop(tmp_path: Path, camera: str) -> None:
    hands = _hands(3)
    _write(tmp_path, "B2Counting", hands, camera)
    data = Stb(tmp_path, StbOptions(sequences=("B2Counting",), camera=camera, size=96, seed=2))
    assert len(data) == 3
    for i in range(3):
        s = data[i]
        assert s.palm_root and s.image.shape == (96, 96, 3)
        np.testing.assert_allclose(s.joints_3d[0], hands[i, 0] / 1000, atol=1e-6)  # palm stays joint 0
        np.testing.assert_allclose(s.joints_3d[4], hands[i, 20] / 1000, atol=1e-6)  # thumb tip
        np.testing.assert_allclose(s.joints_3d[8], hands[i, 16] / 1000, atol=1e-6)  # index tip
        np.testing.assert_allclose(s.joints_3d[20], hands[i, 4] / 1000, atol=1e-6)  # pinky tip
        assert (np.abs(s.joints_2d) < 1).all()  # the 2.2x box holds the whole hand
        x, y = (s.joints_2d[4] + 1) / 2 * 96 - 0.5
        assert s.image[round(y), round(x), 0] > 150  # the red dot is at the thumb tip


def test_bad_label_file_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "labels").mkdir()
    scipy.io.savemat(tmp_path / "labels" / "B1Random_SK.mat", {"other": np.zeros(3)})
    with pytest.raises(ValueError, match="B1Random_SK.mat: no 'handPara'"):
        Stb(tmp_path, StbOptions(sequences=("B1Random",)))
    with pytest.raises(FileNotFoundError, match="B2Random_SK.mat does not exist"):
        Stb(tmp_path, StbOptions(sequences=("B2Random",)))
