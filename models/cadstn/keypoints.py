"""RGB-D inputs of CADSTN: a colour detector's 21 keypoints as heatmaps beside the depth crop.

Why simulated detections in training: the network must read MediaPipe's landmarks with MediaPipe's errors
(jitter, drift, a bias per joint, swapped or folded fingers), so the true keypoints of each crop go through
the lifter's detector model (`models.lifter.data.detector_points_2d`) before they are drawn. A share of
windows gets no keypoints at all (zero heatmaps), as a depth-only source or a frame the detector missed
feeds the network, so one model serves both.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.heatmaps import NUM_KEYPOINTS, keypoint_heatmaps

FRAME_MISS = 0.05  # share of single frames the colour detector misses inside a window that has keypoints


@dataclass(frozen=True)
class KeypointInputs:
    """How training draws the heatmap channels: Gaussian width in crop pixels, share of keypoint-free windows."""

    size: int
    sigma: float = 1.5
    dropout: float = 0.3

    def __call__(self, rng: np.random.Generator, depth: np.ndarray, uv: np.ndarray,
                 real: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """depth (B, T, 1, M, M) and true keypoints (B, T, 21, 2) in crop coordinates → (B, T, 22, M, M);
        `real`: a real detector's keypoints (B, T, 21, 2), NaN where it missed, used on the frames whose
        flag (B, T) says they are not simulated."""
        from models.lifter.data import detector_points_2d

        b, t = uv.shape[:2]
        seen = detector_points_2d(rng, uv)
        present = (rng.random((b, 1)) >= self.dropout) & (rng.random((b, t)) >= FRAME_MISS)
        if real is not None:
            detected, simulated = real
            seen = np.where(simulated[..., None, None], seen, detected)
            missed = ~np.isfinite(seen).all(axis=(-2, -1))
            present &= ~missed | simulated  # the real detector's misses stay misses
            seen = np.where(missed[..., None, None], 0.0, seen)
        maps = keypoint_heatmaps(seen, self.size, self.sigma)  # (B, T, 21, M, M)
        maps *= present[:, :, None, None, None].astype(np.float32)
        return np.concatenate([depth, maps.astype(np.float32)], axis=2)


def crop_heatmaps(landmarks_px: np.ndarray | None, crop, sigma: float) -> np.ndarray:
    """The live input: a detector's landmarks (21, 2) in image pixels → heatmaps (1, 21, M, M) in the depth
    crop (`models.depth_crop.pixels_to_crop`); zeros when there are none (a depth-only source)."""
    from models.depth_crop import pixels_to_crop

    if landmarks_px is None:
        return np.zeros((1, NUM_KEYPOINTS, crop.size, crop.size), np.float32)
    return keypoint_heatmaps(pixels_to_crop(landmarks_px, crop), crop.size, sigma)[None]
