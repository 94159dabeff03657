"""DeepPrior depth preprocessing for CADSTN, numpy only so the live engine can use it without torch.

A hand is cut out of the depth frame as a metric cube (default 250 mm) around its centre of mass,
resampled to M×M (128) with nearest-neighbour lookups (interpolating depth would invent surfaces
between finger and background), and depth is mapped to [−1, 1] across the cube with missing or
out-of-cube pixels at +1 (Oberweger et al., "Hands deep in deep learning"). Joints are expressed in
the same normalised frame, (xyz − centre) / (cube/2), so the inverse to camera-space mm is exact.
CADSTN's sliced volume splits the hand's [Dmin, Dmax] into L equal slices (paper §III-B).

An upright crop (`upright=True`) is also turned in the image plane so that the hand's long axis points
up (`hand_axis_angle`); the joints are turned with it and back. A network then need not learn every
in-plane rotation, which costs a small network accuracy: CADSTN trained on clean renders scores 10.1 mm
held out on upright crops, the same network 12.4 mm on crops as cut (weights/cadstn_compact_clean.onnx.md).
Which way is up comes from `models.crop_axis`.

Camera convention: pinhole, x right, y down, z forward, all in millimetres; lens distortion is
ignored (depth streams are delivered rectified).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from calibration.intrinsics import CameraIntrinsics
from calibration.projection import pixel_to_camera_mm, project_mm
from models.crop_axis import _disc, hand_axis_angle, joint_axis_angle

DEFAULT_CUBE_MM = 250.0
DEFAULT_SIZE = 128
DEFAULT_SLICES = 8
HAND_SPAN_MM = 180.0  # wrist to middle fingertip of an adult hand
# the joints' centroid lies this far behind the surface seen, along the ray (mean of 300 full-frame renders, seed 7)
CENTRE_BEHIND_SURFACE_MM = 17.0
HAND_CENTRE_FROM_TIP_MM = 60.0  # the 21 joints' centroid from the hand's far end, along the arm (fitted on renders)
# recentring with follow_axis: a re-cut that turned the crop further than this looks again (training's axis noise
# is 12°), at most SETTLE_PASSES more times
SETTLE_DEG = 30.0
SETTLE_PASSES = 2


@dataclass
class DepthCrop:
    """One normalised hand crop and what is needed to map results back to the camera."""

    depth: np.ndarray  # (M, M) float32 in [-1, 1], +1 = missing / background
    centre_mm: np.ndarray  # (3,) camera-space centre of the cube
    cube_mm: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 of the cube's (unturned) square in image pixels
    angle: float = 0.0  # radians: the crop's up is the image's up turned by this (upright crops; 0 otherwise)

    @property
    def size(self) -> int:
        return int(self.depth.shape[0])


def check_depth(depth: np.ndarray, name: str = "depth image") -> np.ndarray:
    """Validate a depth frame (HxW, uint16 or float mm) and return it; bad frames are a ValueError."""
    if not isinstance(depth, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(depth).__name__}")
    if depth.ndim != 2:
        raise ValueError(f"{name} must be HxW, got shape {depth.shape}")
    if depth.dtype not in (np.uint16, np.float32, np.float64):
        raise ValueError(f"{name} must be uint16 or float millimetres, got dtype {depth.dtype}")
    if depth.dtype != np.uint16 and not np.isfinite(depth).all():
        raise ValueError(f"{name} contains NaN or infinite values; use 0 for missing depth")
    if not depth.any():
        raise ValueError(f"{name} has no depth readings (all zeros)")
    return depth


def camera_mm_to_pixel(xyz: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
    """(…, 3) camera-space mm → pixel u, v and depth in mm (``calibration.projection`` does the camera math)."""
    xyz = np.asarray(xyz, dtype=np.float64)
    return np.concatenate([project_mm(xyz, intrinsics), xyz[..., 2:3]], axis=-1)


def refine_hand_centre(points_mm: np.ndarray, on_border: np.ndarray, cube_mm: float = DEFAULT_CUBE_MM,
                       iterations: int = 3) -> np.ndarray:
    """The centre of a hand blob's points (N, 3 camera mm): DeepPrior's centre of mass, refined inside the
    metric cube. When the blob runs off the image (``on_border``) and reaches farther than a hand, a
    forearm enters the frame: the centre is then a fixed step from the far end back along the arm, so the arm
    cannot drag it away."""
    points = np.asarray(points_mm, np.float64)
    on_border = np.asarray(on_border, bool)
    if on_border.sum() >= 2:
        entry = points[on_border].mean(axis=0)
        reach = np.linalg.norm(points - entry, axis=1)
        far = points[int(np.argmax(reach))]
        if reach.max() > HAND_SPAN_MM:  # no centre of mass here: any share of the arm drags it away
            return _behind_surface(far + (entry - far) / reach.max() * HAND_CENTRE_FROM_TIP_MM)
    centre = points.mean(axis=0)
    for _ in range(iterations):
        inside = np.all(np.abs(points - centre) < cube_mm / 2.0, axis=1)
        if not inside.any():
            break
        centre = points[inside].mean(axis=0)
    return _behind_surface(centre)


def _behind_surface(point: np.ndarray) -> np.ndarray:
    """A point of the seen surface moved back along its viewing ray to where the joints' centroid lies."""
    return point * (1.0 + CENTRE_BEHIND_SURFACE_MM / np.linalg.norm(point))


MIN_BLOB_PIXELS = 16  # of the image searched: smaller blobs are specks (a hand at 1.5 m covers ~130 at step 4)


def nearest_blob(depth: np.ndarray, valid: np.ndarray, band_mm: float, jump_mm: float = 40.0) -> np.ndarray:
    """The nearest sizeable connected blob (bool mask) among the `valid` pixels of `depth` within `band_mm`
    behind the nearest reading (the 4th nearest, so single-pixel specks do not count). Pixels beside a
    depth jump of more than `jump_mm` to a neighbour are left out, so a hand does not join the wall
    behind it. Sizeable: at least MIN_BLOB_PIXELS and a hundredth of the slab's largest blob; of those the
    one with the nearest reading wins, so a wall larger than the hand is not taken for it."""
    import cv2

    z0 = nearest_reading(depth[valid])
    inside = valid & (depth < z0 + band_mm)
    box = bounding_box(inside, 1)  # the slab's neighbours are the jumps at its rim
    inside_box, depth_box = inside[box], depth[box]
    slab = inside_box & ~jump_pixels(np.where(inside_box, depth_box, np.float32(1e7)), jump_mm)
    if not slab.any():
        slab = inside_box  # all edges (a tiny or ragged blob): keep it whole
    _, labels, stats, _ = cv2.connectedComponentsWithStats(slab.astype(np.uint8), connectivity=8)
    areas = stats[:, cv2.CC_STAT_AREA].copy()
    areas[0] = 0  # the background label
    sizeable = areas >= max(MIN_BLOB_PIXELS, 0.01 * areas.max())
    if sizeable.any():
        nearest = int(np.argmin(np.where(sizeable[labels], depth_box, np.inf)))
        label = labels.flat[nearest]
    else:
        label = int(np.argmax(areas))  # only specks: the largest
    blob = np.zeros(depth.shape, bool)
    blob[box] = labels == label
    return blob


def nearest_reading(zs: np.ndarray) -> float:
    """The 4th nearest of some depth readings, so that single-pixel specks do not count."""
    k = min(3, zs.size - 1)
    return float(np.partition(zs, k)[k])


def bounding_box(mask: np.ndarray, margin: int) -> tuple[slice, slice]:
    """The slices of a (non-empty) mask's bounding box grown by `margin` pixels, within the image. Why: the blob
    searches run several times a frame, and most of what they look at is a hand-sized part of the image."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return (slice(max(rows[0] - margin, 0), min(rows[-1] + 1 + margin, mask.shape[0])),
            slice(max(cols[0] - margin, 0), min(cols[-1] + 1 + margin, mask.shape[1])))


def jump_pixels(depth: np.ndarray, jump_mm: float) -> np.ndarray:
    """The pixels beside a step of more than `jump_mm` to one of their four neighbours: the edges between objects."""
    jump = np.zeros(depth.shape, bool)
    across = np.abs(depth[:, 1:] - depth[:, :-1]) > jump_mm
    jump[:, 1:] |= across
    jump[:, :-1] |= across
    down = np.abs(depth[1:] - depth[:-1]) > jump_mm
    jump[1:] |= down
    jump[:-1] |= down
    return jump


def standout(depth: np.ndarray, valid: np.ndarray, blob: np.ndarray, jump_mm: float | np.ndarray = 40.0) -> float:
    """The share of a blob's outline (the pixels just outside it) that lies behind it by more than `jump_mm` or
    reads nothing: near 1 for a hand or any object in front of what is behind it, near 0 for a patch of wall or
    body cut out of a continuous surface by the depth slab, which a noisy sensor's holes can turn into blobs of
    a hand's size. `jump_mm` may be an image of jumps, one per pixel."""
    import cv2

    box = bounding_box(blob, 2)
    jump_mm = np.broadcast_to(jump_mm, depth.shape)[box]
    depth, valid, blob = depth[box], valid[box], blob[box]
    inside = np.where(blob, depth, np.float32(1e7)).astype(np.float32)
    # two pixels out: `nearest_blob` leaves the pixels beside a depth jump out of the blob, so the first ring
    # outside a hand is still the hand's own edge
    nearest = cv2.erode(inside, np.ones((5, 5), np.uint8))  # the blob's nearest reading within two pixels
    outline = (nearest < 1e7) & ~blob
    if not outline.any():
        return 0.0
    behind = ~valid[outline] | (depth[outline] - nearest[outline] > jump_mm[outline])
    return float(behind.mean())


def hand_centre_mm(depth: np.ndarray, intrinsics: CameraIntrinsics, cube_mm: float = DEFAULT_CUBE_MM,
                   near_mm: float = 150.0, far_mm: float = 1500.0, step: int = 4,
                   iterations: int = 3) -> np.ndarray:
    """The hand's centre in camera mm: the nearest blob (``nearest_blob``) of the slab from the nearest
    reading to one cube deeper (DeepPrior), centred by ``refine_hand_centre`` (which keeps it off a
    forearm entering the image), as the live depth detector does."""
    check_depth(depth)
    d = depth[::step, ::step].astype(np.float32)
    valid = (d > near_mm) & (d < far_mm)
    if not valid.any():
        raise ValueError(f"depth image has no readings between {near_mm:g} and {far_mm:g} mm")
    vs, us = np.nonzero(nearest_blob(d, valid, cube_mm))
    points = pixel_to_camera_mm(np.stack([us * step, vs * step, d[vs, us]], axis=1), intrinsics)
    border = (us == 0) | (vs == 0) | (us == d.shape[1] - 1) | (vs == d.shape[0] - 1)
    return refine_hand_centre(points, border, cube_mm, iterations)


def crop_depth(depth: np.ndarray, centre_mm: np.ndarray, intrinsics: CameraIntrinsics,
               cube_mm: float = DEFAULT_CUBE_MM, size: int = DEFAULT_SIZE, upright: bool = False,
               angle: float | None = None) -> DepthCrop:
    """Cut the metric cube around `centre_mm` out of `depth` and normalise it (see module doc); with
    `upright`, turned so the hand points up: by `angle` when one is known (`joint_axis_angle` of the
    hand's joints: the previous frame's, or a colour detector's landmarks), else by the crop's own
    principal axis (`hand_axis_angle`)."""
    check_depth(depth)
    centre = np.asarray(centre_mm, dtype=np.float64).reshape(3)
    if not np.isfinite(centre).all() or centre[2] <= 0:
        raise ValueError(f"crop centre must be a finite point in front of the camera, got {centre}")
    if cube_mm <= 0 or size < 2:
        raise ValueError(f"cube_mm must be > 0 and size >= 2, got {cube_mm} and {size}")
    uc, vc, zc = camera_mm_to_pixel(centre, intrinsics)
    half_u = cube_mm / 2.0 * intrinsics.fx / zc
    half_v = cube_mm / 2.0 * intrinsics.fy / zc
    box = (float(uc - half_u), float(vc - half_v), float(uc + half_u), float(vc + half_v))
    normed = None if upright and angle is not None else _sample(depth, uc, vc, zc, half_u, half_v, cube_mm, size)
    turn = 0.0
    if upright:  # without a known angle, the axis is found on the crop as cut; then the turned grid is sampled
        turn = hand_axis_angle(normed) if angle is None else float(angle)
        normed = _sample(depth, uc, vc, zc, half_u, half_v, cube_mm, size, turn)
    return DepthCrop(depth=normed, centre_mm=centre, cube_mm=float(cube_mm), box=box, angle=turn)


def _sample(depth: np.ndarray, uc: float, vc: float, zc: float, half_u: float, half_v: float, cube_mm: float,
            size: int, angle: float | None = None) -> np.ndarray:
    """Nearest lookups of the cube's square, turned by `angle` if one is given, normalised; turned crops
    keep only the disc all turns of the square share, so what a crop shows does not depend on its angle."""
    grid, disc = _disc(size)
    h, w = depth.shape
    if angle is None:  # rows and columns apart: size lookups each way instead of size²
        ui = np.rint(uc + grid * half_u).astype(np.int64)
        vi = np.rint(vc + grid * half_v).astype(np.int64)
        patch = depth[np.clip(vi, 0, h - 1)[:, None], np.clip(ui, 0, w - 1)[None, :]].astype(np.float32)
        outside = ((vi < 0) | (vi >= h))[:, None] | ((ui < 0) | (ui >= w))[None, :]
    else:
        cos, sin = np.cos(angle), np.sin(angle)
        ui = np.rint(uc + ((cos * grid)[None, :] - (sin * grid)[:, None]) * half_u).astype(np.int64)
        vi = np.rint(vc + ((sin * grid)[None, :] + (cos * grid)[:, None]) * half_v).astype(np.int64)
        outside = (ui.astype(np.uint64) >= w) | (vi.astype(np.uint64) >= h) | ~disc  # negatives wrap to huge
        index = vi * w + ui
        index[outside] = 0
        patch = np.ravel(depth).take(index).astype(np.float32)
    patch[outside] = 0.0
    normed = (patch - np.float32(zc)) / np.float32(cube_mm / 2.0)
    normed[(patch <= 0) | (np.abs(normed) > 1.0)] = 1.0
    return normed


def pixels_to_crop(points_2d: np.ndarray, crop: DepthCrop) -> np.ndarray:
    """Image pixels (…, 2) → the crop's own coordinates ([−1, 1] edge to edge, turned with an upright crop),
    where keypoint heatmaps are drawn (`models.heatmaps`)."""
    x0, y0, x1, y1 = crop.box
    g = np.asarray(points_2d, np.float64)
    g = np.stack([(g[..., 0] - (x0 + x1) / 2) / ((x1 - x0) / 2), (g[..., 1] - (y0 + y1) / 2) / ((y1 - y0) / 2)], -1)
    if crop.angle:
        cos, sin = np.cos(crop.angle), np.sin(crop.angle)
        g = np.stack([cos * g[..., 0] + sin * g[..., 1], -sin * g[..., 0] + cos * g[..., 1]], -1)
    return g.astype(np.float32)


def recentred_crop(depth: np.ndarray, centre_mm: np.ndarray, intrinsics: CameraIntrinsics,
                   predict: Callable[[DepthCrop], np.ndarray], passes: int = 1,
                   cube_mm: float = DEFAULT_CUBE_MM, size: int = DEFAULT_SIZE, upright: bool = False,
                   angle: float | None = None, follow_axis: bool = False, first: DepthCrop | None = None) -> DepthCrop:
    """The crop around `centre_mm` (turned by `angle` if given, see `crop_depth`; `first` if already cut), re-cut
    `passes` times around the centroid of the joints `predict` (crop → normalised (K, 3) joints) finds in it
    (DeepPrior++'s refinement): the detector's centre of mass misses the joints' centroid by ~25 mm, the network's
    estimate by less. With `follow_axis` (21-joint models) each re-cut is also turned by the joints found, and while a
    re-cut turned the crop by more than SETTLE_DEG (a stale turn: a hand that turned fast between the frames, or a
    first look by the crop's own axis that put the hand upside down) up to SETTLE_PASSES more follow."""
    follow = upright and follow_axis
    crop = first if first is not None else \
        crop_depth(depth, centre_mm, intrinsics, cube_mm=cube_mm, size=size, upright=upright, angle=angle)
    turned = 0.0
    for k in range(passes + (SETTLE_PASSES if follow and passes else 0)):
        if k >= passes and turned <= np.radians(SETTLE_DEG):
            break  # the turn has settled
        joints = joints_to_camera_mm(predict(crop), crop)
        centre = joints.mean(axis=0)
        if not np.isfinite(centre).all() or centre[2] <= 0:
            break  # a broken prediction: keep the detector's crop
        if follow:
            angle = joint_axis_angle(project_mm(joints, intrinsics))
            turned = abs((angle - crop.angle + np.pi) % (2 * np.pi) - np.pi)
        crop = crop_depth(depth, centre, intrinsics, cube_mm=cube_mm, size=size, upright=upright, angle=angle)
    return crop


def joints_to_crop(joints_mm: np.ndarray, crop: DepthCrop) -> np.ndarray:
    """Camera-space mm joints (…, K, 3) → the crop's normalised frame (the network's targets)."""
    normed = (np.asarray(joints_mm, np.float64) - crop.centre_mm) / (crop.cube_mm / 2.0)
    return turn_xy(normed, -crop.angle).astype(np.float32)


def joints_to_camera_mm(joints: np.ndarray, crop: DepthCrop) -> np.ndarray:
    """Exact inverse of `joints_to_crop`: normalised joints → camera-space mm."""
    return turn_xy(np.asarray(joints, np.float64), crop.angle) * (crop.cube_mm / 2.0) + crop.centre_mm


def turn_xy(xyz: np.ndarray, angle: float | np.ndarray) -> np.ndarray:
    """x, y of (…, K, 3) points turned by `angle` about the z axis (as the crop's grid is turned); an
    array of angles holds one per leading index (one per frame of (T, K, 3) joints)."""
    angle = np.asarray(angle, np.float64)
    if not angle.any():
        return xyz
    cos, sin = np.cos(angle)[..., None], np.sin(angle)[..., None]
    out = xyz.copy()
    out[..., 0] = cos * xyz[..., 0] - sin * xyz[..., 1]
    out[..., 1] = sin * xyz[..., 0] + cos * xyz[..., 1]
    return out


def sliced_volume(crop: np.ndarray, slices: int = DEFAULT_SLICES) -> np.ndarray:
    """Binary (L, M, M) volume: slice l holds the pixels whose depth falls in the l-th of L equal parts
    of [Dmin, Dmax] of the hand's own pixels (those < +1). Same float32 arithmetic as the torch and
    ONNX version in models/cadstn/volume.py, so both agree bit for bit."""
    crop = np.asarray(crop, dtype=np.float32)
    if crop.ndim != 2:
        raise ValueError(f"sliced_volume needs an (M, M) crop, got shape {crop.shape}")
    valid = crop < 1.0
    volume = np.zeros((slices,) + crop.shape, np.float32)
    if not valid.any():
        return volume
    dmin = crop[valid].min()
    dmax = crop[valid].max()
    span = np.maximum(dmax - dmin, np.float32(1e-6))
    index = np.floor((crop - dmin) / span * np.float32(slices))
    index = np.clip(index, 0, slices - 1).astype(np.int64)
    rows, cols = np.nonzero(valid)
    volume[index[rows, cols], rows, cols] = 1.0
    return volume
