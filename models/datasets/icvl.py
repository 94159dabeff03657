"""ICVL hand posture dataset reader (Tang et al., 2014) in its published layout.

A label file (`labels.txt` for training, `test_seq_1.txt`/`test_seq_2.txt` for testing) has one
frame per line: the depth image's relative path, then 16 joints as u, v (pixels) and d (mm). Depth
images are 16-bit PNGs in mm (320×240). Joints come back in camera mm (y down) from u, v, d.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from calibration.intrinsics import CameraIntrinsics
from calibration.projection import pixel_to_camera_mm
from models.datasets.nyu import DepthSample

ICVL_JOINTS = 16
ICVL_CAMERA = CameraIntrinsics(fx=240.99, fy=240.96, cx=160.0, cy=120.0, width=320, height=240)


def read_icvl_labels(path: Path) -> tuple[list[str], np.ndarray]:
    """→ image paths (as written) and (N, 16, 3) u, v, d."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ICVL label file {path} does not exist")
    names, rows = [], []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 1 + ICVL_JOINTS * 3:
            raise ValueError(f"{path}:{number}: expected an image path and {ICVL_JOINTS * 3} numbers, "
                             f"got {len(parts) - 1}")
        try:
            rows.append([float(v) for v in parts[1:]])
        except ValueError:
            raise ValueError(f"{path}:{number}: joint values must be numbers") from None
        names.append(parts[0])
    if not rows:
        raise ValueError(f"{path}: no labelled frames")
    return names, np.asarray(rows, np.float64).reshape(-1, ICVL_JOINTS, 3)


def read_icvl_depth(path: Path) -> np.ndarray:
    import cv2

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ICVL depth image {path} does not exist")
    depth = cv2.imread(str(path), cv2.IMREAD_ANYDEPTH)
    if depth is None or depth.dtype != np.uint16:
        raise ValueError(f"{path}: not a 16-bit depth PNG")
    return depth


class IcvlDataset:
    """Map-style reader over one label file; image paths are relative to `image_root`
    (default: the label file's folder, or its `Depth/` subfolder when that exists, as published)."""

    def __init__(self, labels: Path, image_root: Path | None = None) -> None:
        labels = Path(labels)
        self.names, self.uvd = read_icvl_labels(labels)
        if image_root is None:
            image_root = labels.parent / "Depth" if (labels.parent / "Depth").is_dir() else labels.parent
        self.image_root = Path(image_root)
        self.intrinsics = ICVL_CAMERA

    def __len__(self) -> int:
        return len(self.uvd)

    def __getitem__(self, index: int) -> DepthSample:
        if not 0 <= index < len(self):
            raise IndexError(index)
        uvd = self.uvd[index]
        return DepthSample(depth=read_icvl_depth(self.image_root / self.names[index]), joints_uvd=uvd,
                           joints_mm=pixel_to_camera_mm(uvd, self.intrinsics), intrinsics=self.intrinsics)
