"""From the RGB model's weak-perspective camera to metric 3-D joints in camera space.

SeqHAND-Net predicts, per crop, a scale ``s`` and a translation ``t`` such that a model-space point
X (metres, camera axes, any origin) appears at crop coordinates ``u = s · X[:2] + t``, where the
square crop of side ``L`` pixels centred at (bx, by) spans [-1, 1]: pixel = (bx, by) + u · L/2.

1. Size ratio. Weak perspective is an orthographic projection scaled by ``s · L/2`` pixels per
   metre; a pinhole camera at depth Z shows a metre as ``f / Z`` pixels, so

       Z = f · m / (s · L/2)        f = sqrt(fx · fy),  m = local magnification of the lens distortion

   i.e. depth = focal length × (metric hand size / projected hand size), the depth of the hand's
   centroid c. Its pixel p = (bx, by) + (s · c[:2] + t) · L/2, undistorted, gives its ray (x, y, 1);
   the centroid sits at C = Z · (x, y, 1) and every joint at X + (C − c).

2. Perspective. Weak perspective treats the whole hand as one depth; a hand 25 cm away and tilted
   spans ±20 % in depth, enough for several percent of depth error. So the 2-D joints the model
   predicts (each u_i mapped to pixels and undistorted to a ray (x_i, y_i, 1)) are explained by a
   true perspective camera: find the translation T with X_i + T on ray i,

       X_i + Tx = x_i · (Z_i + Tz),   Y_i + Ty = y_i · (Z_i + Tz)      (2N linear equations in T)

   solved by least squares — again the metric size of the hand against the spread of its rays,
   now per joint. Step 1 remains the answer when this system is degenerate or disagrees wildly.

3. Depth. With a depth frame (aligned to the same image) the median, over joints, of (observed
   depth near the joint's pixel + surface offset − predicted joint depth) moves the hand along the
   centroid's ray, keeping its 2-D projection. Why: the image-based depth is only as right as the
   predicted hand size β; the sensor measures the distance directly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calibration.intrinsics import CameraIntrinsics
from calibration.projection import distort_normalized, pixels_to_normalized, project_mm


@dataclass(frozen=True)
class DepthRefinement:
    """How depth readings correct the image-based depth.

    ``window_px``: side of the square window whose median depth is read around each joint's pixel.
    ``surface_offset_mm``: how far a joint centre lies behind the skin the sensor sees (about a
    finger's radius). ``min_valid_joints``: fewer joints with readings leave the image-based depth.
    ``max_relative_change``: a correction larger than this fraction of the depth means the sensor
    sees something else (an occluder, the background) and is ignored.
    """

    window_px: int = 5
    surface_offset_mm: float = 8.0
    min_valid_joints: int = 5
    max_relative_change: float = 0.5


@dataclass(frozen=True)
class CameraPlacement:
    """Joints placed in the camera: ``joints_mm`` = model joints (m) · 1000 + ``translation_mm``.

    ``depth_mm`` is the final depth of the joints' centroid, ``size_depth_mm`` the one from the
    size ratio alone (step 1); ``perspective`` tells whether step 2 was used; ``depth_joints`` counts
    the joints with depth readings used (0 = not refined with depth).
    """

    joints_mm: np.ndarray
    translation_mm: np.ndarray
    depth_mm: float
    size_depth_mm: float
    perspective: bool
    refined_with_depth: bool
    depth_joints: int


def fit_weak_perspective(joints_m: np.ndarray, uv: np.ndarray) -> tuple[float, np.ndarray]:
    """The least-squares (s, t) with ``uv ≈ s · joints_m[:, :2] + t``: weak-perspective labels from 3-D + 2-D.

    Closed form: centring both point sets removes t, then s = <X̃, ũ> / <X̃, X̃>.
    """
    x = np.asarray(joints_m, np.float64)[:, :2]
    u = np.asarray(uv, np.float64)
    xc, uc = x - x.mean(axis=0), u - u.mean(axis=0)
    denom = float(np.sum(xc * xc))
    if denom <= 0.0:
        raise ValueError("cannot fit a weak-perspective camera to points that coincide")
    s = float(np.sum(xc * uc)) / denom
    return s, u.mean(axis=0) - s * x.mean(axis=0)


def _magnification(xy: np.ndarray, k: CameraIntrinsics) -> float:
    """How much the lens distortion enlarges small lengths at ideal normalised point ``xy`` (sqrt |det J|)."""
    if not k.has_distortion:
        return 1.0
    h = 1e-6
    pts = np.array([xy, xy + (h, 0.0), xy + (0.0, h)])
    d = distort_normalized(pts, k)
    jac = np.stack([(d[1] - d[0]) / h, (d[2] - d[0]) / h], axis=1)
    return float(np.sqrt(abs(np.linalg.det(jac))))


def weak_perspective_to_camera(joints_m: np.ndarray, scale: float, translation: np.ndarray,
                               crop_centre_px: tuple[float, float], crop_size_px: float, k: CameraIntrinsics,
                               depth_mm: np.ndarray | None = None, *, mirrored: bool = False,
                               refinement: DepthRefinement = DepthRefinement()) -> CameraPlacement:
    """Camera-space joints in mm from the weak-perspective camera of a crop (maths in the module docstring).

    ``joints_m`` (N,3): model joints in metres, rotated into camera axes (x right, y down, z away),
    any origin. ``scale``, ``translation``: the model's s and (tx, ty) in crop coordinates.
    ``crop_centre_px``, ``crop_size_px``: the square crop in raw image pixels. ``mirrored``: the crop
    was mirrored for the network (left hands); give the joints un-mirrored and t as predicted.
    ``depth_mm``: an optional depth map (H, W) in mm aligned to the image ``k`` describes.
    """
    joints = np.asarray(joints_m, np.float64)
    if joints.ndim != 2 or joints.shape[1] != 3 or len(joints) == 0:
        raise ValueError(f"joints must be an (N, 3) array, got shape {joints.shape}")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"weak-perspective scale must be positive, got {scale}")
    if not crop_size_px > 0:
        raise ValueError(f"crop size must be positive, got {crop_size_px}")
    t = np.asarray(translation, np.float64).reshape(2).copy()
    if mirrored:
        t[0] = -t[0]
    half = crop_size_px / 2.0
    centroid = joints.mean(axis=0)
    crop_centre = np.asarray(crop_centre_px, np.float64).reshape(2)
    pixel = crop_centre + (scale * centroid[:2] + t) * half
    ray = pixels_to_normalized(pixel, k)
    focal = float(np.sqrt(k.fx * k.fy))
    size_depth = 1000.0 * focal * _magnification(ray, k) / (scale * half)
    centre_mm = np.array([ray[0], ray[1], 1.0]) * size_depth
    perspective_centre = _perspective_centre(joints, scale, t, crop_centre, half, k, size_depth)
    if perspective_centre is not None:
        centre_mm = perspective_centre
    joints_mm = joints * 1000.0 + (centre_mm - centroid * 1000.0)
    used = 0
    if depth_mm is not None:
        shift, used = _depth_shift(joints_mm, depth_mm, k, refinement)
        if used and abs(shift) <= refinement.max_relative_change * centre_mm[2]:
            centre_mm = centre_mm * ((centre_mm[2] + shift) / centre_mm[2])
            joints_mm = joints * 1000.0 + (centre_mm - centroid * 1000.0)
        else:
            used = 0
    return CameraPlacement(joints_mm=joints_mm, translation_mm=centre_mm - centroid * 1000.0,
                           depth_mm=float(centre_mm[2]), size_depth_mm=float(size_depth),
                           perspective=perspective_centre is not None, refined_with_depth=used > 0,
                           depth_joints=used)


def _perspective_centre(joints: np.ndarray, scale: float, t: np.ndarray, crop_centre: np.ndarray, half: float,
                        k: CameraIntrinsics, size_depth: float) -> np.ndarray | None:
    """Step 2: the centroid (mm) of the hand translated onto the rays of its 2-D joints, or None if unreliable."""
    x_mm = joints * 1000.0
    rays = pixels_to_normalized(crop_centre + (scale * joints[:, :2] + t) * half, k)
    n = len(joints)
    a = np.zeros((2 * n, 3))
    a[:n, 0], a[:n, 2] = 1.0, -rays[:, 0]
    a[n:, 1], a[n:, 2] = 1.0, -rays[:, 1]
    b = np.concatenate([rays[:, 0] * x_mm[:, 2] - x_mm[:, 0], rays[:, 1] * x_mm[:, 2] - x_mm[:, 1]])
    translation, _, _, sv = np.linalg.lstsq(a, b, rcond=None)  # its singular values tell a degenerate system
    if n < 3 or sv[-1] < 1e-6 * sv[0]:
        return None  # all joints on one ray: no size information
    placed = x_mm + translation
    centre = placed.mean(axis=0)
    if np.any(placed[:, 2] <= 0) or abs(centre[2] - size_depth) > 0.5 * size_depth:
        return None
    return centre


def _depth_shift(joints_mm: np.ndarray, depth_mm: np.ndarray, k: CameraIntrinsics,
                 opts: DepthRefinement) -> tuple[float, int]:
    """Median over joints of (window median depth + surface offset − joint depth); (0, 0) with too few readings."""
    depth = np.asarray(depth_mm)
    if depth.ndim != 2 or depth.shape != (k.height, k.width):
        raise ValueError(f"depth map of shape {depth.shape} does not match the camera's {k.width}x{k.height} image")
    if np.any(joints_mm[:, 2] <= 0):
        return 0.0, 0
    pixels = np.rint(project_mm(joints_mm, k)).astype(np.int64)  # all z > 0 (checked above)
    r = max(int(opts.window_px) // 2, 0)
    shifts = []
    for (u, v), z in zip(pixels, joints_mm[:, 2]):
        if not (0 <= u < k.width and 0 <= v < k.height):
            continue
        window = depth[max(v - r, 0): v + r + 1, max(u - r, 0): u + r + 1]
        readings = window[window > 0]
        if readings.size:
            shifts.append(float(np.median(readings)) + opts.surface_offset_mm - float(z))
    if len(shifts) < opts.min_valid_joints:
        return 0.0, 0
    return float(np.median(shifts)), len(shifts)
