"""Real-detector landmarks for the lifter: MediaPipe run on our full-frame renders, with their truth.

Why: the noise model of `models.lifter.data` guesses how MediaPipe errs; running MediaPipe itself on renders
shows it — where its joints sit on our hand model, how flat its depth is, what it does with a hand seen
edge-on. Renders are full 640x480 colour frames of the open hand model (pose-flows through the prior, any
orientation, 0.3-1.0 m, random backgrounds), the same generator for training shards (seed 5) and for the
engine evaluation on renders (other seeds). Frames where MediaPipe finds no hand, or calls our right hand a
left one, are kept but flagged: training windows use only runs of frames it found as right hands.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from models.lifter.data import LifterBatch
from models.lifter.features import landmark_features

RENDER_DISTANCE_MM = (300.0, 1000.0)


def render_sequences(seed: int, count: int, frames: int = 24, start: int = 0, model=None) -> Iterator:
    """``count`` full-frame RGB-D `SynthSequence`s (truth in camera mm) of generator ``seed``, from ``start``
    (``model``: the hand model to render, default the active one)."""
    from models.synth.pose_flow import FlowOptions
    from models.synth.render_depth import DepthOptions
    from models.synth.sequence import SequenceGenerator, SequenceOptions

    options = SequenceOptions(kind="depth", colour=True, flow=FlowOptions(frames=frames),
                              depth=DepthOptions(full_frame=True, background="plane", static_background=True,
                                                 distance_mm=RENDER_DISTANCE_MM))
    generator = SequenceGenerator(options, seed=seed, model=model)
    for index in range(start, start + count):
        yield generator.sequence(index)


def detect_sequence(seq) -> dict[str, np.ndarray]:
    """MediaPipe on a rendered sequence as the engine runs it on a video (fresh per sequence, one hand), with its
    truth, as arrays."""
    from models.mediapipe_tracking import TrackedMediaPipeHands

    t = len(seq.rgb)
    out = {"found": np.zeros(t, bool), "right": np.zeros(t, bool), "landmarks": np.zeros((t, 21, 2), np.float32),
           "relative_z": np.zeros((t, 21), np.float32), "world": np.zeros((t, 21, 3), np.float32)}
    hands = TrackedMediaPipeHands(max_hands=1)
    try:
        for f in range(t):
            found = hands.detect(seq.rgb[f], f / 30.0)
            if found and found[0].world is not None:
                h = found[0]
                out["found"][f], out["right"][f] = True, h.handedness == "right"
                out["landmarks"][f], out["relative_z"][f], out["world"][f] = h.landmarks, h.relative_z, h.world
    finally:
        hands.close()
    truth = seq.truth
    out.update(joints_2d=truth.joints_2d, joints_3d=truth.joints_3d, theta=truth.theta, betas=truth.betas,
               rotation=truth.rotation)
    return out


def build_shards(folder: Path | str, seed: int = 5, sequences: int = 1000, per_shard: int = 50,
                 frames: int = 24) -> list[Path]:
    """Render and detect ``sequences`` sequences into ``folder/shard_XXXX.npz`` (resumable: finished shards
    are kept)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for first in range(0, sequences, per_shard):
        path = folder / f"shard_{first // per_shard:04d}.npz"
        paths.append(path)
        if path.is_file():
            continue
        records = [detect_sequence(s) for s in render_sequences(seed, min(per_shard, sequences - first), frames, first)]
        arrays = {k: np.stack([r[k] for r in records]) for k in records[0]}
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)
    return paths


class DetectorShards:
    """Training windows from `build_shards` output: ``batch(rng, size, length)`` -> `LifterBatch` whose features
    are MediaPipe's and whose truth is the render's."""

    def __init__(self, folder: Path | str) -> None:
        paths = sorted(Path(folder).glob("shard_*.npz"))
        if not paths:
            raise FileNotFoundError(f"no detector shards (shard_*.npz) in {folder}")
        loaded = [dict(np.load(p)) for p in paths]
        self.arrays = {k: np.concatenate([a[k] for a in loaded]) for k in loaded[0]}
        ok = self.arrays["found"] & self.arrays["right"]
        self._ok_runs = ok

    def windows(self, length: int) -> np.ndarray:
        """(N, 2) (sequence, first frame) of every window of ``length`` frames all found as right hands."""
        ok = self._ok_runs.astype(np.int64)
        csum = np.concatenate([np.zeros((len(ok), 1), np.int64), np.cumsum(ok, axis=1)], axis=1)
        full = (csum[:, length:] - csum[:, :-length]) == length
        return np.argwhere(full)

    def batch(self, rng: np.random.Generator, size: int, length: int) -> LifterBatch:
        starts = self.windows(length)
        if len(starts) == 0:
            raise ValueError(f"no run of {length} frames found by MediaPipe in the detector shards")
        pick = starts[rng.integers(0, len(starts), size)]
        frames = pick[:, 1:2] + np.arange(length)[None]
        get = lambda k: self.arrays[k][pick[:, :1], frames].astype(np.float64)  # noqa: E731
        features, centre, half = landmark_features(get("landmarks"), get("relative_z"), get("world"))
        joints = get("joints_3d") / 1000.0
        rel = joints - joints[:, :, :1]
        rot = Rotation.from_rotvec(get("rotation").reshape(-1, 3)).as_matrix().reshape(size, length, 3, 3)
        uv = (get("joints_2d") - centre[:, :, None]) / half[:, :, None, None]
        f = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
        beta = self.arrays["betas"][pick[:, 0], 0]
        return LifterBatch(f(features), f(get("theta")), f(beta), f(rel), f(rot), f(uv), f(half))
