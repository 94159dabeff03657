"""NYU reader on a tiny fixture written in the published layout (joint_data.mat + G·256+B PNGs)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.io import savemat

from models.datasets.nyu import NYU14, NyuDataset, read_nyu_depth
from models.depth_crop import camera_mm_to_pixel


def _write_fixture(root, frames=3):
    rng = np.random.default_rng(0)
    folder = root / "test"
    folder.mkdir(parents=True)
    uvd = np.zeros((3, frames, 36, 3))
    uvd[..., 0] = rng.uniform(200, 400, (3, frames, 36))
    uvd[..., 1] = rng.uniform(150, 300, (3, frames, 36))
    uvd[..., 2] = rng.uniform(600, 900, (3, frames, 36))
    savemat(folder / "joint_data.mat", {"joint_uvd": uvd, "joint_xyz": np.zeros_like(uvd),
                                        "joint_names": np.array([f"j{i}" for i in range(36)], dtype=object)})
    depths = []
    for i in range(frames):
        depth = rng.integers(0, 2000, (480, 640)).astype(np.uint16)
        bgr = np.zeros((480, 640, 3), np.uint8)
        bgr[:, :, 0] = depth & 0xFF  # B: low byte
        bgr[:, :, 1] = depth >> 8  # G: high byte
        bgr[:, :, 2] = 77  # R carries nothing we read
        cv2.imwrite(str(folder / f"depth_1_{i + 1:07d}.png"), bgr)
        depths.append(depth)
    return uvd, depths


def test_reads_depth_and_the_14_protocol_joints(tmp_path):
    uvd, depths = _write_fixture(tmp_path)
    data = NyuDataset(tmp_path, "test")
    assert len(data) == 3
    sample = data[2]
    np.testing.assert_array_equal(sample.depth, depths[2])
    np.testing.assert_allclose(sample.joints_uvd, uvd[0, 2, list(NYU14)])
    assert sample.joints_mm.shape == (14, 3)
    np.testing.assert_allclose(camera_mm_to_pixel(sample.joints_mm, sample.intrinsics), sample.joints_uvd, atol=1e-9)
    with pytest.raises(IndexError):
        data[3]


def test_missing_and_corrupt_files_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="joint_data.mat"):
        NyuDataset(tmp_path, "train")
    bad = tmp_path / "depth.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="not a readable image"):
        read_nyu_depth(bad)
