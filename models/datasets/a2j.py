"""Readers of the A2J release files (Xiong et al., ICCV 2019; MIT): NYU/ICVL test labels, the
centres A2J cropped around, and A2J's own predictions — real data to check our metric code against.

Files: `*_keypointsUVD_test.mat` (key `keypoints3D`, N×K×3 pixel u, v and depth mm),
`*_center_test.mat` (key `centre_pixel`, N×1×3 u, v, mm) and `*_UVD.txt` (one frame per line,
K×3 whitespace-separated u, v, mm values).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _loadmat(path: Path, key: str) -> np.ndarray:
    from scipy.io import loadmat

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"A2J file {path} does not exist")
    try:
        data = loadmat(str(path))
    except (ValueError, OSError, TypeError) as exc:
        raise ValueError(f"{path}: not a readable .mat file ({exc})") from None
    if key not in data:
        raise ValueError(f"{path}: no variable {key!r} (found {', '.join(k for k in data if not k.startswith('__'))})")
    return np.asarray(data[key], dtype=np.float64)


def read_keypoints_uvd(path: Path) -> np.ndarray:
    """Ground truth (N, K, 3) in pixels and mm."""
    uvd = _loadmat(path, "keypoints3D")
    if uvd.ndim != 3 or uvd.shape[2] != 3:
        raise ValueError(f"{path}: keypoints3D must be N x K x 3, got {uvd.shape}")
    return uvd


def read_centres_uvd(path: Path) -> np.ndarray:
    """Crop centres (N, 3) in pixels and mm."""
    centres = _loadmat(path, "centre_pixel")
    if centres.size % 3:
        raise ValueError(f"{path}: centre_pixel must hold u, v, d triples, got {centres.shape}")
    return centres.reshape(-1, 3)


def read_predictions_uvd(path: Path, joints: int) -> np.ndarray:
    """A2J predictions (N, joints, 3) from its text result file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"A2J prediction file {path} does not exist")
    try:
        values = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{path}: not a whitespace-separated table of numbers ({exc})") from None
    if values.shape[1] != joints * 3:
        raise ValueError(f"{path}: expected {joints * 3} values per line ({joints} joints), got {values.shape[1]}")
    return values.reshape(-1, joints, 3)
