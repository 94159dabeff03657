"""Intel RealSense intrinsics and extrinsics in this project's terms (OpenCV distortion, millimetres).

Why a conversion: librealsense reports lens models OpenCV does not share. ``brown_conrady`` is
OpenCV's model with the same coefficient order and is copied. ``inverse_brown_conrady`` (D400
colour sensors) is, in librealsense >= 2.55's own projection and deprojection (checked against
2.59 in the tests), the same forward polynomial and is copied too. ``modified_brown_conrady``
applies the tangential terms to the radially distorted point; it is converted to the OpenCV model
by a linear least-squares fit over the whole image (the OpenCV model is linear in k1, k2, k3, p1,
p2 for known ideal/distorted pairs). Fisheye models (``ftheta``, ``kannala_brandt4``) are refused.
"""
from __future__ import annotations

import numpy as np

from calibration.extrinsics import Extrinsics
from calibration.intrinsics import CameraIntrinsics


def intrinsics_from_realsense(intr) -> CameraIntrinsics:
    """A ``pyrealsense2.intrinsics`` (from ``video_stream_profile.get_intrinsics()``) → :class:`CameraIntrinsics`."""
    import pyrealsense2 as rs

    c = np.asarray(list(intr.coeffs)[:5], np.float64)
    model = intr.model
    base = dict(fx=float(intr.fx), fy=float(intr.fy), cx=float(intr.ppx), cy=float(intr.ppy),
                width=int(intr.width), height=int(intr.height))
    if model == rs.distortion.none or not np.any(c):
        return CameraIntrinsics(**base)
    if model in (rs.distortion.brown_conrady, rs.distortion.inverse_brown_conrady):
        return CameraIntrinsics(**base, distortion=tuple(float(x) for x in c))
    # ideal normalised coordinates covering the image (and a little beyond) to fit the forward model on
    u, v = np.meshgrid(np.linspace(-0.05, 1.05, 41) * intr.width, np.linspace(-0.05, 1.05, 31) * intr.height)
    grid = np.stack([(u.ravel() - intr.ppx) / intr.fx, (v.ravel() - intr.ppy) / intr.fy], axis=1)
    if model == rs.distortion.modified_brown_conrady:
        ideal, distorted = grid, _modified_brown_conrady(grid, c)
    else:
        raise ValueError(f"RealSense lens model {model} is a fisheye model; handstream supports pinhole "
                         "lenses with Brown-Conrady distortion only")
    return CameraIntrinsics(**base, distortion=fit_opencv_distortion(ideal, distorted))


def extrinsics_from_realsense(extr) -> Extrinsics:
    """A ``pyrealsense2.extrinsics`` (``profile_a.get_extrinsics_to(profile_b)``; metres, column-major) → mm."""
    rotation = np.asarray(list(extr.rotation), np.float64).reshape(3, 3).T
    return Extrinsics(rotation, np.asarray(list(extr.translation), np.float64) * 1000.0)


def fit_opencv_distortion(ideal: np.ndarray, distorted: np.ndarray) -> tuple[float, float, float, float, float]:
    """OpenCV (k1, k2, p1, p2, k3) best mapping ideal normalised points (N,2) to distorted ones, by least squares."""
    x, y = ideal[:, 0], ideal[:, 1]
    r2 = x * x + y * y
    # columns: k1, k2, k3, p1, p2
    ax = np.stack([x * r2, x * r2 ** 2, x * r2 ** 3, 2 * x * y, r2 + 2 * x * x], axis=1)
    ay = np.stack([y * r2, y * r2 ** 2, y * r2 ** 3, r2 + 2 * y * y, 2 * x * y], axis=1)
    a = np.concatenate([ax, ay])
    b = np.concatenate([distorted[:, 0] - x, distorted[:, 1] - y])
    k1, k2, k3, p1, p2 = np.linalg.lstsq(a, b, rcond=None)[0]
    return float(k1), float(k2), float(p1), float(p2), float(k3)


def _modified_brown_conrady(xy: np.ndarray, c: np.ndarray) -> np.ndarray:
    """librealsense's modified Brown-Conrady: tangential terms on the radially distorted point."""
    x, y = xy[:, 0], xy[:, 1]
    r2 = x * x + y * y
    f = 1 + c[0] * r2 + c[1] * r2 * r2 + c[4] * r2 * r2 * r2
    x, y = x * f, y * f
    return np.stack([x + 2 * c[2] * x * y + c[3] * (r2 + 2 * x * x),
                     y + 2 * c[3] * x * y + c[2] * (r2 + 2 * y * y)], axis=1)
