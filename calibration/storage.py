"""Calibration files: JSON with the unit of every number spelled out, written atomically.

Why explicit units: a file that says ``"fx": 612.3`` is ambiguous once a second resolution or a
millimetre focal length shows up; ``focal_length_px`` is not. The image size is part of the
calibration because intrinsics only hold for the resolution they were measured at.

Example::

    {"format": "handstream-calibration", "version": 1,
     "image_size_px": {"width": 640, "height": 480},
     "focal_length_px": {"fx": 612.3, "fy": 611.9},
     "principal_point_px": {"cx": 319.1, "cy": 241.7},
     "distortion": {"model": "opencv-brown-conrady", "k1": ..., "k2": ..., "p1": ..., "p2": ..., "k3": ...},
     "rms_reprojection_error_px": 0.21, "views": 18, "board": "checkerboard:9x6:25mm",
     "created_utc": "2026-11-22T08:30:00Z"}
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from calibration.intrinsics import CameraIntrinsics

FORMAT = "handstream-calibration"
VERSION = 1
DISTORTION_MODEL = "opencv-brown-conrady"
DISTORTION_KEYS = ("k1", "k2", "p1", "p2", "k3")


@dataclass
class StoredCalibration:
    """What a calibration file holds: the intrinsics plus how they were obtained."""

    intrinsics: CameraIntrinsics
    rms_px: float | None = None
    views: int | None = None
    board: str | None = None
    created_utc: str | None = None
    extra: dict = field(default_factory=dict)


def save_calibration(path: Path, intrinsics: CameraIntrinsics, *, rms_px: float | None = None,
                     views: int | None = None, board: str | None = None, extra: dict | None = None) -> Path:
    """Write ``intrinsics`` (and how they were measured) to ``path``; an existing file is replaced atomically.

    ``extra`` holds further JSON-serialisable facts (e.g. camera name, per-view errors).
    """
    path = Path(path)
    _check_intrinsics(intrinsics, str(path))
    dist = list(intrinsics.distortion) + [0.0] * (5 - len(intrinsics.distortion))
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "image_size_px": {"width": int(intrinsics.width), "height": int(intrinsics.height)},
        "focal_length_px": {"fx": float(intrinsics.fx), "fy": float(intrinsics.fy)},
        "principal_point_px": {"cx": float(intrinsics.cx), "cy": float(intrinsics.cy)},
        "distortion": {"model": DISTORTION_MODEL, **{k: float(v) for k, v in zip(DISTORTION_KEYS, dist)}},
        "rms_reprojection_error_px": None if rms_px is None else float(rms_px),
        "views": None if views is None else int(views),
        "board": board,
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if extra:
        doc["extra"] = extra
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write calibration {path}: folder {path.parent} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"cannot write calibration {path}: it is a folder")
    text = json.dumps(doc, indent=2) + "\n"
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OSError(f"cannot write calibration {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the file from other users of the camera
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OSError(f"cannot write calibration {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_calibration(path: Path) -> StoredCalibration:
    """Read a calibration file written by :func:`save_calibration`; any problem is a one-line error naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"calibration file {path} does not exist")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"calibration file {path} is not a text (JSON) file") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"calibration file {path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"calibration file {path} is not a handstream calibration (missing \"format\": \"{FORMAT}\")")
    if doc.get("version") != VERSION:
        raise ValueError(f"calibration file {path} has version {doc.get('version')!r}; this handstream reads "
                         f"version {VERSION}")

    def number(section: str, key: str, default: float | None = None) -> float:
        block = doc.get(section)
        value = block.get(key, default) if isinstance(block, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"calibration file {path}: {section}.{key} is missing or not a number")
        return float(value)

    dist_model = doc.get("distortion", {}).get("model") if isinstance(doc.get("distortion"), dict) else None
    if dist_model != DISTORTION_MODEL:
        raise ValueError(f"calibration file {path}: distortion.model is {dist_model!r}, expected "
                         f"'{DISTORTION_MODEL}'")
    width, height = number("image_size_px", "width"), number("image_size_px", "height")
    if width != int(width) or height != int(height):
        raise ValueError(f"calibration file {path}: image_size_px must be whole pixels")
    intrinsics = CameraIntrinsics(
        fx=number("focal_length_px", "fx"), fy=number("focal_length_px", "fy"),
        cx=number("principal_point_px", "cx"), cy=number("principal_point_px", "cy"),
        width=int(width), height=int(height),
        distortion=tuple(number("distortion", k, 0.0) for k in DISTORTION_KEYS),
    )
    _check_intrinsics(intrinsics, f"calibration file {path}")
    rms = doc.get("rms_reprojection_error_px")
    views = doc.get("views")
    return StoredCalibration(
        intrinsics=intrinsics,
        rms_px=float(rms) if isinstance(rms, (int, float)) and not isinstance(rms, bool) else None,
        views=int(views) if isinstance(views, int) and not isinstance(views, bool) else None,
        board=doc.get("board") if isinstance(doc.get("board"), str) else None,
        created_utc=doc.get("created_utc") if isinstance(doc.get("created_utc"), str) else None,
        extra=doc.get("extra") if isinstance(doc.get("extra"), dict) else {},
    )


PLAIN_KEYS = ("fx", "fy", "cx", "cy", "width", "height")


def load_calibration(path: Path) -> CameraIntrinsics:
    """The intrinsics stored in a calibration file (what ``--calibration FILE`` gives the engine): one written
    by ``handstream calibrate``, or a plain JSON object ``{fx, fy, cx, cy, width, height[, distortion]}`` (pixels),
    as other tools and camera SDKs print them."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        doc = None  # read_calibration names the problem
    if isinstance(doc, dict) and "format" not in doc and all(k in doc for k in PLAIN_KEYS):
        try:
            k = CameraIntrinsics.from_dict(doc)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"calibration file {path}: {exc}") from None
        _check_intrinsics(k, f"calibration file {path}")
        return k
    return read_calibration(path).intrinsics


def _check_intrinsics(k: CameraIntrinsics, where: str) -> None:
    if k.width <= 0 or k.height <= 0:
        raise ValueError(f"{where}: image size {k.width}x{k.height} must be positive")
    if not (k.fx > 0 and k.fy > 0):
        raise ValueError(f"{where}: focal lengths fx={k.fx}, fy={k.fy} must be positive")
    if not all(math.isfinite(v) for v in (k.fx, k.fy, k.cx, k.cy, *k.distortion)):
        raise ValueError(f"{where}: intrinsics contain a non-finite number")
    if len(k.distortion) > 5:
        raise ValueError(f"{where}: {len(k.distortion)} distortion coefficients; only (k1, k2, p1, p2, k3) "
                         "are supported")
