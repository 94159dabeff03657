"""NYU Hand Pose Dataset reader (Tompson et al., 2014) in its published layout.

`<root>/<split>/joint_data.mat` holds `joint_uvd` and `joint_xyz` (kinect × frame × 36 × 3) and
`joint_names`; depth frames are `depth_<kinect>_<frame:07d>.png` (1-based) with depth in mm stored
as G·256 + B. The standard protocol evaluates 14 of the 36 joints (`NYU14`) with the test camera's
intrinsics. Joints are returned in our camera convention (y down), computed from u, v, d.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calibration.intrinsics import CameraIntrinsics
from calibration.projection import pixel_to_camera_mm

NYU14 = (0, 3, 6, 9, 12, 15, 18, 21, 24, 25, 27, 30, 31, 32)  # the 14 joints of the usual protocol
NYU_CAMERA = CameraIntrinsics(fx=588.03, fy=587.07, cx=320.0, cy=240.0, width=640, height=480)  # the test camera


@dataclass
class DepthSample:
    """One labelled depth frame; joints (K, 3) in camera mm and in pixels + mm."""

    depth: np.ndarray  # (H, W) uint16 mm, 0 = missing
    joints_mm: np.ndarray
    joints_uvd: np.ndarray
    intrinsics: CameraIntrinsics


def read_nyu_depth(path: Path) -> np.ndarray:
    """An NYU depth PNG → (H, W) uint16 mm (depth = G·256 + B)."""
    import cv2

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"NYU depth image {path} does not exist")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{path}: not a readable image")
    return (bgr[:, :, 1].astype(np.uint16) << 8) | bgr[:, :, 0].astype(np.uint16)


class NyuDataset:
    """Map-style reader: `len()` and `[i]` → DepthSample, frames in recorded order (for sequences)."""

    def __init__(self, root: Path, split: str = "test", kinect: int = 1,
                 joints: tuple[int, ...] | None = NYU14) -> None:
        from scipy.io import loadmat

        self.folder = Path(root) / split
        label_file = self.folder / "joint_data.mat"
        if not label_file.is_file():
            raise FileNotFoundError(f"NYU labels {label_file} do not exist")
        try:
            uvd = np.asarray(loadmat(str(label_file))["joint_uvd"], np.float64)
        except KeyError:
            raise ValueError(f"{label_file}: no variable 'joint_uvd'") from None
        if uvd.ndim != 4 or uvd.shape[-1] != 3 or not 1 <= kinect <= uvd.shape[0]:
            raise ValueError(f"{label_file}: joint_uvd must be kinect x frame x joint x 3 with kinect {kinect}, "
                             f"got {uvd.shape}")
        uvd = uvd[kinect - 1]
        self.uvd = uvd[:, list(joints)] if joints is not None else uvd
        self.kinect = kinect
        self.intrinsics = NYU_CAMERA

    def __len__(self) -> int:
        return len(self.uvd)

    def depth_path(self, index: int) -> Path:
        return self.folder / f"depth_{self.kinect}_{index + 1:07d}.png"

    def __getitem__(self, index: int) -> DepthSample:
        if not 0 <= index < len(self):
            raise IndexError(index)
        uvd = self.uvd[index]
        return DepthSample(depth=read_nyu_depth(self.depth_path(index)), joints_uvd=uvd,
                           joints_mm=pixel_to_camera_mm(uvd, self.intrinsics), intrinsics=self.intrinsics)
