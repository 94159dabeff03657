"""Undistorting whole images with cached remap tables.

Why cached: ``cv2.initUndistortRectifyMap`` costs tens of milliseconds for a VGA frame, the remap
itself about one; the maps depend only on the camera, so they are built once per camera and reused
for every frame. The undistorted image keeps the camera matrix K (``ideal_intrinsics``), so pixel
coordinates in it mean the same focal lengths and principal point, only without distortion.
For single points use ``calibration.projection.undistort_pixels`` (numpy, no maps needed).
"""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np

from calibration.intrinsics import CameraIntrinsics


def ideal_intrinsics(k: CameraIntrinsics) -> CameraIntrinsics:
    """The camera of the undistorted image: same K and size, no distortion."""
    return replace(k, distortion=(0.0,) * 5)


@lru_cache(maxsize=4)
def _maps(fx: float, fy: float, cx: float, cy: float, width: int, height: int,
          distortion: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    k = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    map1, map2 = cv2.initUndistortRectifyMap(k, np.asarray(distortion, np.float64), None, k, (width, height),
                                             cv2.CV_16SC2)
    map1.setflags(write=False)
    map2.setflags(write=False)
    return map1, map2


def undistortion_maps(k: CameraIntrinsics) -> tuple[np.ndarray, np.ndarray]:
    """The (cached, read-only) ``cv2.remap`` tables taking a raw image of camera ``k`` to its undistorted image."""
    return _maps(float(k.fx), float(k.fy), float(k.cx), float(k.cy), int(k.width), int(k.height),
                 tuple(float(x) for x in k.distortion))


def undistort_image(image: np.ndarray, k: CameraIntrinsics, nearest: bool = False) -> np.ndarray:
    """The undistorted image (described by ``ideal_intrinsics(k)``); areas with no source pixel are black.

    ``nearest`` samples without interpolation — required for depth maps, where blending a hand's
    depth with the background's would invent surfaces in between.
    """
    import cv2

    image = np.asarray(image)
    if image.shape[:2] != (k.height, k.width):
        raise ValueError(f"image of shape {image.shape[:2]} does not match the camera's {k.width}x{k.height}")
    if not k.has_distortion:
        return image.copy()
    map1, map2 = undistortion_maps(k)
    return cv2.remap(image, map1, map2, cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)
