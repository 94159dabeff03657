"""Pinhole projection and back-projection with OpenCV's lens distortion, in numpy only.

Why numpy only: the live engine calls these for every hand in every frame and must not pay for (or
depend on) cv2 or torch here. All functions work on *raw image pixels* — the pixels of the frames
as the camera delivers them, distortion included — and camera-space millimetres (x right, y down,
z forward along the optical axis; z is the depth a depth camera reports, not the ray length).

The model (OpenCV's, also RealSense's "Brown-Conrady"): a camera point (X, Y, Z) has normalised
coordinates x = X/Z, y = Y/Z; with r² = x² + y²

    x_d = x (1 + k1 r² + k2 r⁴ + k3 r⁶) + 2 p1 x y + p2 (r² + 2 x²)
    y_d = y (1 + k1 r² + k2 r⁴ + k3 r⁶) + p1 (r² + 2 y²) + 2 p2 x y

and the pixel is u = fx x_d + cx, v = fy y_d + cy. Undistortion inverts the first step by
fixed-point iteration (as ``cv2.undistortPoints`` does, but iterated to convergence).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from calibration.intrinsics import CameraIntrinsics

_UNDISTORT_ITERATIONS = 40
_UNDISTORT_TOLERANCE = 1e-12


def _coeffs(k: CameraIntrinsics) -> tuple[float, float, float, float, float]:
    d = tuple(float(x) for x in k.distortion) + (0.0,) * 5
    return d[0], d[1], d[2], d[3], d[4]


def distort_normalized(xy: np.ndarray, k: CameraIntrinsics) -> np.ndarray:
    """Ideal normalised coordinates (..., 2) → distorted normalised coordinates (the formula above)."""
    xy = np.asarray(xy, np.float64)
    k1, k2, p1, p2, k3 = _coeffs(k)
    if not (k1 or k2 or p1 or p2 or k3):
        return xy.copy()
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return np.stack([xd, yd], axis=-1)


def undistort_normalized(xy_d: np.ndarray, k: CameraIntrinsics) -> np.ndarray:
    """Distorted normalised coordinates (..., 2) → ideal ones, by fixed-point iteration to convergence."""
    xy_d = np.asarray(xy_d, np.float64)
    k1, k2, p1, p2, k3 = _coeffs(k)
    if not (k1 or k2 or p1 or p2 or k3):
        return xy_d.copy()
    x, y = xy_d[..., 0].copy(), xy_d[..., 1].copy()
    for _ in range(_UNDISTORT_ITERATIONS):
        r2 = x * x + y * y
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        dx = 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
        dy = p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
        nx, ny = (xy_d[..., 0] - dx) / radial, (xy_d[..., 1] - dy) / radial
        step = max(float(np.max(np.abs(nx - x), initial=0.0)), float(np.max(np.abs(ny - y), initial=0.0)))
        x, y = nx, ny
        if step < _UNDISTORT_TOLERANCE:
            break
    return np.stack([x, y], axis=-1)


def pixels_to_normalized(uv: np.ndarray, k: CameraIntrinsics) -> np.ndarray:
    """Raw image pixels (..., 2) → ideal normalised coordinates (X/Z, Y/Z) of the rays through them."""
    uv = np.asarray(uv, np.float64)
    xy_d = np.stack([(uv[..., 0] - k.cx) / k.fx, (uv[..., 1] - k.cy) / k.fy], axis=-1)
    return undistort_normalized(xy_d, k)


def normalized_to_pixels(xy: np.ndarray, k: CameraIntrinsics) -> np.ndarray:
    """Ideal normalised coordinates (..., 2) → raw image pixels (distortion applied)."""
    xy_d = distort_normalized(xy, k)
    return np.stack([k.fx * xy_d[..., 0] + k.cx, k.fy * xy_d[..., 1] + k.cy], axis=-1)


def undistort_pixels(uv: np.ndarray, k: CameraIntrinsics) -> np.ndarray:
    """Raw pixels → the pixels of the same rays in the distortion-free image with the same K."""
    xy = pixels_to_normalized(uv, k)
    return np.stack([k.fx * xy[..., 0] + k.cx, k.fy * xy[..., 1] + k.cy], axis=-1)


def distort_pixels(uv: np.ndarray, k: CameraIntrinsics) -> np.ndarray:
    """Distortion-free pixels (same K) → raw pixels; the inverse of :func:`undistort_pixels`."""
    uv = np.asarray(uv, np.float64)
    xy = np.stack([(uv[..., 0] - k.cx) / k.fx, (uv[..., 1] - k.cy) / k.fy], axis=-1)
    return normalized_to_pixels(xy, k)


def project_mm(points_mm: np.ndarray, k: CameraIntrinsics) -> np.ndarray:
    """Camera-space points (..., 3) mm → raw image pixels (..., 2).

    Points at or behind the camera (z <= 0) have no image: their pixels are NaN, so one bad
    prediction marks itself instead of stopping a live frame.
    """
    p = np.asarray(points_mm, np.float64)
    z = p[..., 2]
    front = z > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        xy = p[..., :2] / np.where(front, z, np.nan)[..., None]
    return normalized_to_pixels(xy, k)


def back_project_mm(uv: np.ndarray, z_mm: np.ndarray | float, k: CameraIntrinsics) -> np.ndarray:
    """Raw image pixels (..., 2) at depths ``z_mm`` (optical-axis depth) → camera-space points (..., 3) mm."""
    xy = pixels_to_normalized(uv, k)
    z = np.broadcast_to(np.asarray(z_mm, np.float64), xy.shape[:-1])
    return np.concatenate([xy * z[..., None], z[..., None]], axis=-1)


def pixel_to_camera_mm(uvz: np.ndarray, k: CameraIntrinsics) -> np.ndarray:
    """(u, v, z_mm) rows (..., 3) → camera-space points (..., 3) mm; e.g. a depth detection's centre."""
    uvz = np.asarray(uvz, np.float64)
    return back_project_mm(uvz[..., :2], uvz[..., 2], k)


@lru_cache(maxsize=8)
def _ray_grid(fx: float, fy: float, cx: float, cy: float, width: int, height: int,
              distortion: tuple[float, ...]) -> np.ndarray:
    k = CameraIntrinsics(fx, fy, cx, cy, width, height, distortion)
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    grid = pixels_to_normalized(np.stack([u, v], axis=-1), k).astype(np.float32)
    grid.setflags(write=False)
    return grid


def pixel_rays(k: CameraIntrinsics) -> np.ndarray:
    """Ideal normalised coordinates of every pixel (H, W, 2) float32, cached per camera.

    Why cached: undistorting a full frame of rays costs milliseconds; back-projecting a depth map
    with them is then a single multiply per frame.
    """
    return _ray_grid(float(k.fx), float(k.fy), float(k.cx), float(k.cy), int(k.width), int(k.height),
                     tuple(float(x) for x in k.distortion))


def depth_to_points(depth_mm: np.ndarray, k: CameraIntrinsics, organized: bool = False) -> np.ndarray:
    """A depth map (H, W) in mm (0 = no reading) → camera-space points in mm.

    Returns the valid points (N, 3) float32 in row-major pixel order, or with ``organized`` an
    (H, W, 3) array aligned with the depth map (zeros where there is no reading). The depth map must
    be the image ``k`` describes (same size; aligned depth for colour intrinsics).
    """
    depth = np.asarray(depth_mm)
    if depth.ndim != 2 or depth.shape != (k.height, k.width):
        raise ValueError(f"depth map of shape {depth.shape} does not match the camera's {k.width}x{k.height} "
                         "image (H, W)")
    z = depth.astype(np.float32)
    rays = pixel_rays(k)
    points = np.empty(depth.shape + (3,), np.float32)
    points[..., 0] = rays[..., 0] * z
    points[..., 1] = rays[..., 1] * z
    points[..., 2] = z
    if organized:
        return points
    return points[z > 0]
