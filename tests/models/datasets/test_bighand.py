"""BigHand2.2M annotation reader: real-format text file in, (N, 21, 3) mm out; malformed lines named."""
from __future__ import annotations

import numpy as np
import pytest

from models.datasets.bighand import read_bighand_annotations


def test_reads_names_and_joints(tmp_path) -> None:
    joints = np.arange(2 * 63, dtype=float).reshape(2, 63) / 7.0
    path = tmp_path / "Training_Annotation.txt"
    path.write_text("".join(f"image_D{i:08d}.png\t" + "\t".join(f"{v:.6f}" for v in row) + "\n"
                            for i, row in enumerate(joints, 1)) + "\n")
    ann = read_bighand_annotations(path)
    assert ann.names == ["image_D00000001.png", "image_D00000002.png"]
    np.testing.assert_allclose(ann.joints_mm, joints.reshape(2, 21, 3), atol=1e-6)
    assert read_bighand_annotations(path, limit=1).joints_mm.shape == (1, 21, 3)
    every = read_bighand_annotations(path, every=2)
    assert every.names == ["image_D00000001.png"]


def test_errors_name_the_file_and_line(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        read_bighand_annotations(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("img.png " + " ".join(["1"] * 63) + "\nimg2.png 1 2 3\n")
    with pytest.raises(ValueError, match=r"bad.txt:2: expected"):
        read_bighand_annotations(bad)
