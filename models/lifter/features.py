"""The lifter's input: one frame of MediaPipe landmarks as a 126-value feature vector.

One function for training and the engine, numpy only (the engine has no torch). Every frame is normalised
on its own: 2-D landmarks relative to their box (centre, half side) like a crop, the relative depth in the
same units, the metric landmarks relative to the wrist and divided by the palm's size (MediaPipe's metric
hand is of one fixed size, so its scale says nothing). Left hands are mirrored into right ones (x -> -x).
"""
from __future__ import annotations

import numpy as np

NUM_FEATURES = 21 * 2 + 21 + 21 * 3
BOX_MARGIN = 1.1   # the box's half side is 1.1x half the landmarks' longer extent: uv stays inside [-1, 1]
PALM_JOINTS = (5, 9, 13, 17)  # the four knuckles: their mean distance to the wrist is the palm's size


def landmark_box(landmarks_px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(..., 21, 2) pixels -> centre (..., 2) and half side (...,) of the square normalising box."""
    lo, hi = landmarks_px.min(axis=-2), landmarks_px.max(axis=-2)
    half = np.maximum((hi - lo).max(axis=-1) / 2.0 * BOX_MARGIN, 1.0)
    return (lo + hi) / 2.0, half


def landmark_features(landmarks_px: np.ndarray, relative_z_px: np.ndarray, world_m: np.ndarray,
                      mirrored: bool | np.ndarray = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(..., 21, 2) px, (..., 21) px, (..., 21, 3) m -> features (..., 126) float32, box centre, half side.

    ``mirrored`` (bool or (...,) bools): a left hand, seen by the right-hand model in a mirror.
    """
    centre, half = landmark_box(landmarks_px)
    sign = np.where(np.asarray(mirrored)[..., None], -1.0, 1.0)  # (..., 1)
    uv = (landmarks_px - centre[..., None, :]) / half[..., None, None]
    uv = np.concatenate([uv[..., :1] * sign[..., None], uv[..., 1:]], axis=-1)
    z = (relative_z_px - relative_z_px[..., :1]) / half[..., None]
    world = world_m - world_m[..., :1, :]
    palm = np.linalg.norm(world[..., PALM_JOINTS, :], axis=-1).mean(axis=-1)
    world = world / np.maximum(palm, 1e-6)[..., None, None]
    world = np.concatenate([world[..., :1] * sign[..., None], world[..., 1:]], axis=-1)
    lead = uv.shape[:-2]
    features = np.concatenate([uv.reshape(*lead, 42), z, world.reshape(*lead, 63)], axis=-1)
    return features.astype(np.float32), centre, half
