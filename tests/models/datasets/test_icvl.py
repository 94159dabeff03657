"""ICVL reader on a tiny fixture written in the published layout (labels text + 16-bit PNGs)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.datasets.icvl import IcvlDataset, read_icvl_labels


def test_reads_labels_and_depth(tmp_path):
    rng = np.random.default_rng(1)
    (tmp_path / "Depth" / "test_seq_1").mkdir(parents=True)
    uvd = np.stack([rng.uniform(50, 250, (2, 16)), rng.uniform(40, 200, (2, 16)), rng.uniform(300, 500, (2, 16))], -1)
    lines = []
    for i in range(2):
        depth = rng.integers(0, 3000, (240, 320)).astype(np.uint16)
        cv2.imwrite(str(tmp_path / "Depth" / "test_seq_1" / f"image_{i:04d}.png"), depth)
        lines.append(f"test_seq_1/image_{i:04d}.png " + " ".join(f"{v:.3f}" for v in uvd[i].reshape(-1)))
    (tmp_path / "test_seq_1.txt").write_text("\n".join(lines) + "\n")
    data = IcvlDataset(tmp_path / "test_seq_1.txt")
    assert len(data) == 2
    sample = data[1]
    np.testing.assert_array_equal(sample.depth, cv2.imread(str(tmp_path / "Depth/test_seq_1/image_0001.png"), -1))
    np.testing.assert_allclose(sample.joints_uvd, uvd[1], atol=1e-3)
    # x = (u - cx) z / fx with the ICVL camera
    assert sample.joints_mm[0, 0] == pytest.approx((sample.joints_uvd[0, 0] - 160) * sample.joints_uvd[0, 2] / 240.99)


def test_malformed_label_line_names_file_and_line(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("a.png " + " ".join(["1"] * 48) + "\nb.png 1 2 3\n")
    with pytest.raises(ValueError, match=r"labels.txt:2: expected an image path and 48 numbers"):
        read_icvl_labels(labels)
