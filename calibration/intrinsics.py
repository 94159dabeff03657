"""Pinhole camera intrinsics with lens distortion: the one description of a camera the whole project shares."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class CameraIntrinsics:
    """Focal lengths and principal point in pixels for an image of ``width`` x ``height``.

    ``distortion`` holds OpenCV's (k1, k2, p1, p2, k3) coefficients; zeros mean an ideal pinhole.
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    distortion: tuple[float, ...] = field(default=(0.0, 0.0, 0.0, 0.0, 0.0))

    @property
    def matrix(self) -> np.ndarray:
        """The 3x3 camera matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def dist_coeffs(self) -> np.ndarray:
        """The distortion as the float64 vector OpenCV functions take."""
        return np.asarray(self.distortion, np.float64).ravel()

    @property
    def has_distortion(self) -> bool:
        return bool(np.any(self.dist_coeffs != 0.0))

    def scaled(self, width: int, height: int) -> CameraIntrinsics:
        """The same camera delivering ``width`` x ``height`` images (a resized, not cropped, stream).

        Why: a calibration holds for the resolution it was measured at; a camera mode with the same
        field of view but another size scales fx, cx by the width ratio and fy, cy by the height
        ratio (pixel-centre convention: centres at integer coordinates). Distortion is unitless.
        """
        sx, sy = width / self.width, height / self.height
        return CameraIntrinsics(fx=self.fx * sx, fy=self.fy * sy, cx=(self.cx + 0.5) * sx - 0.5,
                                cy=(self.cy + 0.5) * sy - 0.5, width=int(width), height=int(height),
                                distortion=tuple(self.distortion))

    def for_image(self, width: int, height: int) -> CameraIntrinsics:
        """These intrinsics for frames of ``width`` x ``height``: unchanged, or scaled for a resized mode.

        A mode with another aspect ratio is cropped by the camera, so no scaling can describe it:
        that is a one-line ValueError asking for a calibration in that mode.
        """
        if (width, height) == (self.width, self.height):
            return self
        if abs((width / height) / (self.width / self.height) - 1.0) > 0.01:
            raise ValueError(f"calibration for {self.width}x{self.height} images cannot describe {width}x{height} "
                             "frames (another aspect ratio); calibrate the camera in that mode")
        return self.scaled(width, height)

    def to_dict(self) -> dict:
        return {
            "fx": self.fx, "fy": self.fy, "cx": self.cx, "cy": self.cy,
            "width": self.width, "height": self.height, "distortion": list(self.distortion),
        }

    @classmethod
    def from_matrix(cls, k: np.ndarray, width: int, height: int,
                    distortion: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0)) -> CameraIntrinsics:
        """From a 3x3 camera matrix K = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] (OpenCV's, a dataset's).

        A K with skew or another last row is a ValueError: these intrinsics cannot describe it.
        """
        k = np.asarray(k, np.float64)
        if k.shape != (3, 3) or k[0, 1] != 0.0 or k[1, 0] != 0.0 or not np.array_equal(k[2], [0.0, 0.0, 1.0]):
            raise ValueError(f"camera matrix must be [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], got {k.tolist()}")
        return cls(fx=float(k[0, 0]), fy=float(k[1, 1]), cx=float(k[0, 2]), cy=float(k[1, 2]),
                   width=int(width), height=int(height), distortion=tuple(float(x) for x in distortion))

    @classmethod
    def from_dict(cls, d: dict) -> CameraIntrinsics:
        return cls(
            fx=float(d["fx"]), fy=float(d["fy"]), cx=float(d["cx"]), cy=float(d["cy"]),
            width=int(d["width"]), height=int(d["height"]),
            distortion=tuple(float(x) for x in d.get("distortion", (0.0,) * 5)),
        )


def webcam_intrinsics(width: int, height: int, horizontal_fov_deg: float = 65.0) -> CameraIntrinsics:
    """Intrinsics of an uncalibrated webcam from a typical horizontal field of view.

    Why: the RGB model needs a focal length to place the hand in depth; without ``--calibration``
    a 65 degree webcam is a better guess than nothing (depth is then only approximately right).
    """
    fx = width / (2.0 * math.tan(math.radians(horizontal_fov_deg) / 2.0))
    return CameraIntrinsics(fx=fx, fy=fx, cx=(width - 1) / 2.0, cy=(height - 1) / 2.0,
                            width=width, height=height)
