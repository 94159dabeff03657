"""Intrinsic calibration from board views: focal lengths, principal point and lens distortion.

Zhang's method as implemented by ``cv2.calibrateCamera``: each view of the planar board gives a
homography; together they fix K, then a non-linear least-squares fit refines K, the distortion
(k1, k2, p1, p2, k3) and every view's pose by minimising the reprojection error. The RMS of that
error (pixels) is the headline quality number: well under 1 px for a good calibration.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from calibration.board import BoardDetection, BoardDetector, BoardSpec
from calibration.intrinsics import CameraIntrinsics

# Zhang's method needs >= 3 views in theory; with distortion on top, fewer than this is unreliable.
MIN_VIEWS = 4
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


@dataclass
class CalibrationResult:
    """The calibrated camera, how well it fits (RMS and per-view reprojection error in px) and its inputs."""

    intrinsics: CameraIntrinsics
    rms_px: float
    per_view_rms_px: list[float]
    views: int
    board: BoardSpec
    used_files: list[str] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)


def calibrate_detections(detections: Sequence[BoardDetection], board: BoardSpec,
                         fix_k3: bool | None = None) -> CalibrationResult:
    """Calibrate from board detections of one camera (all at the same image size).

    ``fix_k3`` keeps the 6th-order radial term at zero; by default it is fixed with fewer than 10
    views, where it mostly fits noise and makes the model diverge outside the covered area.
    """
    import cv2

    if len(detections) < MIN_VIEWS:
        raise ValueError(f"calibration needs at least {MIN_VIEWS} views with the board {board} found, got "
                         f"{len(detections)}")
    sizes = {d.image_size for d in detections}
    if len(sizes) != 1:
        raise ValueError(f"calibration views have different image sizes {sorted(sizes)}; use one camera mode")
    (width, height), = sizes
    if fix_k3 is None:
        fix_k3 = len(detections) < 10
    flags = cv2.CALIB_FIX_K3 if fix_k3 else 0
    obj = [d.object_points.reshape(-1, 1, 3).astype(np.float32) for d in detections]
    img = [d.image_points.reshape(-1, 1, 2).astype(np.float32) for d in detections]
    criteria = (cv2.TERM_CRITERIA_COUNT + cv2.TERM_CRITERIA_EPS, 100, 1e-9)
    rms, k, dist, rvecs, tvecs = cv2.calibrateCamera(obj, img, (width, height), None, None, flags=flags,
                                                     criteria=criteria)
    if not np.all(np.isfinite(k)) or not np.all(np.isfinite(dist)) or k[0, 0] <= 0 or k[1, 1] <= 0:
        raise ValueError("calibration diverged: the views are too similar or the board detections are wrong")
    per_view = []
    for o, i, r, t in zip(obj, img, rvecs, tvecs):
        projected, _ = cv2.projectPoints(o, r, t, k, dist)
        per_view.append(float(np.sqrt(np.mean(np.sum((projected - i) ** 2, axis=2)))))
    d = np.zeros(5)
    flat = np.asarray(dist, np.float64).ravel()[:5]
    d[: flat.size] = flat
    intrinsics = CameraIntrinsics.from_matrix(k, width, height, distortion=tuple(d))
    return CalibrationResult(intrinsics, float(rms), per_view, len(detections), board)


def calibrate_images(images: Iterable[tuple[str, np.ndarray]], board: BoardSpec) -> CalibrationResult:
    """Calibrate from named images (8-bit grey/RGB); images where the board is not found are skipped."""
    detector = BoardDetector(board)
    detections, used, skipped = [], [], []
    for name, image in images:
        found = detector.detect(image)
        if found is None:
            skipped.append(name)
        else:
            detections.append(found)
            used.append(name)
    if len(detections) < MIN_VIEWS:
        total = len(used) + len(skipped)
        raise ValueError(f"the board {board} was found in {len(used)} of {total} images; calibration needs at "
                         f"least {MIN_VIEWS} (check the board size: a checkerboard counts inner corners)")
    result = calibrate_detections(detections, board)
    result.used_files, result.skipped_files = used, skipped
    return result


def calibrate_folder(folder: Path, board: BoardSpec) -> CalibrationResult:
    """Calibrate from every image file in ``folder`` (png, jpg, bmp, tif, webp), in name order."""
    import cv2

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise FileNotFoundError(f"image folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")

    def read_all() -> Iterable[tuple[str, np.ndarray]]:
        for path in files:
            image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if image is None:
                raise ValueError(f"image {path} cannot be decoded")
            yield path.name, image

    return calibrate_images(read_all(), board)
