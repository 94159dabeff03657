"""RGB-D training crops with MediaPipe's own landmarks: the lifter's detector shards, depth rendered again.

Why: the simulated detector (`models.cadstn.keypoints`) guesses how MediaPipe errs; the lifter's shards hold
what MediaPipe reported on the colour of 1,400 full-frame RGB-D renders (`models.lifter.detector_data`,
generator seed 5). Rendering those sequences again gives the same hand motion and colour (the generator draws
the motion before anything else, and the depth sensor and scene from streams of their own) with today's
depth sensor models, so each depth crop comes with the landmarks MediaPipe really gave for that frame. The
crops are cut as the engine cuts an RGB-D frame: turned by MediaPipe's landmarks where it found the hand.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from models.cadstn.data import AxisOptions, CropSet, DepthSequence, build_crop_set

SHARD_SEED = 5  # the generator seed the lifter's detector shards were rendered with (detector_data.build_shards)
SHARD_FRAMES = 24


def mediapipe_crop_set(folder: Path | str, cube_mm: float, size: int, jitter_mm: float, axis: AxisOptions,
                       seed: int = 0, limit: int = 0, hand_model_path: Path | None = None) -> CropSet:
    """The shards' sequences as upright crops whose `detected` keypoints are MediaPipe's (NaN where it found no
    hand, or took our right hand for a left one); `limit` keeps the first N sequences."""
    from models.hand.model import load_hand_model
    from models.lifter.detector_data import render_sequences

    paths = sorted(Path(folder).glob("shard_*.npz"))
    if not paths:
        raise FileNotFoundError(f"no detector shards (shard_*.npz) in {folder}")
    shards = [np.load(p) for p in paths]
    found = np.concatenate([s["found"] & s["right"] for s in shards])
    landmarks = np.concatenate([s["landmarks"] for s in shards]).astype(np.float64)
    joints_3d = np.concatenate([s["joints_3d"] for s in shards])
    count = len(found) if limit <= 0 else min(limit, len(found))
    model = load_hand_model(hand_model_path) if hand_model_path else None
    detected = np.where(found[:count, :, None, None], landmarks[:count], np.nan)
    sequences = []
    for i, seq in enumerate(render_sequences(SHARD_SEED, count, SHARD_FRAMES, model=model)):
        if np.abs(seq.truth.joints_3d - joints_3d[i]).max() > 0.5:
            raise ValueError(f"{folder}: sequence {i} renders another motion than its shard holds (not seed "
                             f"{SHARD_SEED}, or another generator)")
        sequences.append(DepthSequence(seq.depth, seq.truth.joints_3d.astype(np.float64), seq.truth.intrinsics,
                                       seq.truth.joints_3d.mean(axis=1).astype(np.float64), detected_px=detected[i]))
    return build_crop_set(sequences, cube_mm, size, jitter_mm=jitter_mm, seed=seed, upright=True, axis=axis)
