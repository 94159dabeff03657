"""Synthetic pose-flow sequences (models/synth) as SeqHAND-Net pretraining batches (Eq. 14 targets).

The renderer already uses the network's weak-perspective camera, so its labels map one to one:
pixels -> crop coordinates, mm -> metres, and the 26 parameters [theta PCA, beta, s, t, r] for Lcam.
Poses are rendered after projection onto the 10 PCA components (`pca_pose`), i.e. exactly what the
network can express. Vertices are not passed on: Eq. 14 has no mesh term (LM3D is for real datasets
with mesh labels, §4). For keypoint_heatmaps models the batches also carry heatmaps of simulated detections
(`models.seqhand.keypoint_inputs`), drawn where the sequences are rendered (in the worker processes).
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from models.seqhand.data import Batch, to_tensor_images
from models.seqhand.keypoint_inputs import KeypointInputOptions, with_keypoint_inputs
from models.seqhand.losses import LossTargets
from models.synth.sequence import ANY_TILT_DEG, DEFAULT_SCALE


def _generator(size: int, length: int, seed: int, max_tilt_deg: float = ANY_TILT_DEG,
               scale: tuple[float, float] = DEFAULT_SCALE):
    from models.synth.pose_flow import FlowOptions
    from models.synth.render_rgb import RgbOptions
    from models.synth.sequence import SequenceGenerator, SequenceOptions

    options = SequenceOptions(kind="rgb", flow=FlowOptions(frames=length), rgb=RgbOptions(size=size), pca_pose=True,
                              max_tilt_deg=max_tilt_deg, scale=scale)
    return SequenceGenerator(options, seed=seed)


def sequence_arrays(seq, size: int) -> dict[str, np.ndarray]:
    """One synthetic RGB sequence -> network-ready arrays (crop coordinates, metres, parameters)."""
    t = seq.truth
    return record_arrays({"rgb": seq.rgb, "joints_2d": t.joints_2d, "joints_3d": t.joints_3d, "mask": t.mask,
                          "params": t.params}, size)


def record_arrays(record: dict[str, np.ndarray], size: int, length: int | None = None) -> dict[str, np.ndarray]:
    """A sequence as `SynthSequence.to_arrays()` or a shard stores it -> network-ready arrays (first
    `length` frames)."""
    n = slice(None, length)
    return {
        "images": record["rgb"][n],
        "joints_2d": ((record["joints_2d"][n] + 0.5) / (size / 2.0) - 1.0).astype(np.float32),
        "joints_3d": (record["joints_3d"][n] / 1000.0).astype(np.float32),
        "mask": record["mask"][n],
        "params": record["params"][n].astype(np.float32),
    }


def collate_sequences(items: list[dict[str, np.ndarray]]) -> Batch:
    def stack(key: str) -> torch.Tensor:
        return torch.from_numpy(np.stack([i[key] for i in items])).float()

    targets = LossTargets(joints_2d=stack("joints_2d"), joints_3d=stack("joints_3d"), mask=stack("mask"),
                          params=stack("params"))
    return Batch(to_tensor_images(np.stack([i["images"] for i in items])), targets)


class _SequenceBatches(torch.utils.data.IterableDataset):
    """Batches rendered inside a DataLoader worker, so rendering overlaps the training step."""

    def __init__(self, size: int, batch_size: int, length: int, seed: int, rank: int, world: int,
                 sequences: int, max_tilt_deg: float, scale: tuple[float, float],
                 keypoints: KeypointInputOptions | None) -> None:
        super().__init__()
        self.args = (size, batch_size, length, seed, rank, world, sequences, max_tilt_deg, scale, keypoints)

    def __iter__(self) -> Iterator[Batch]:
        size, batch_size, length, seed, rank, world, sequences, max_tilt_deg, scale, keypoints = self.args
        info = torch.utils.data.get_worker_info()
        workers, worker = (1, 0) if info is None else (info.num_workers, info.id)
        gen = _generator(size, length, seed, max_tilt_deg, scale)
        stride = world * workers
        index = rank * workers + worker
        add_keypoints = _keypoint_inputs(keypoints, seed, index)
        while True:
            items = []
            for _ in range(batch_size):
                items.append(sequence_arrays(gen.sequence(index % sequences if sequences else index), size))
                index += stride
            yield add_keypoints(collate_sequences(items))


def _keypoint_inputs(options: KeypointInputOptions | None, *seed: int):
    """Batch -> batch: heatmaps of simulated detections (and the RGB spoiled) from a generator of its own,
    or nothing for image-only models."""
    if options is None:
        return lambda batch: batch
    rng = np.random.default_rng([*seed, 0x4B50])
    return lambda batch: with_keypoint_inputs(batch, rng, options)


def synthetic_batches(size: int, batch_size: int, length: int, seed: int, rank: int = 0, world: int = 1,
                      shards: Path | None = None, workers: int = 0, sequences: int = 0,
                      max_tilt_deg: float = ANY_TILT_DEG, scale: tuple[float, float] = DEFAULT_SCALE,
                      keypoints: KeypointInputOptions | None = None) -> Iterator[Batch]:
    """Endless batches of generated sequences (rendered in `workers` background processes). With
    `sequences` = 0 every sequence is new; otherwise the set of that many sequences (the paper's
    40,000) repeats in epochs. Each DDP process and worker renders its own indices. `max_tilt_deg` < 180
    keeps the hands turned towards the camera; `scale` is the range of the weak-perspective scale (see
    `models.synth.sequence.SequenceOptions`). `keypoints`: add keypoint heatmaps (keypoint_heatmaps models)."""
    if shards is not None:
        return shard_batches(shards, size, batch_size, length, seed, rank, world, keypoints)
    stream = _SequenceBatches(size, batch_size, length, seed, rank, world, sequences, max_tilt_deg, scale,
                              keypoints)
    if workers == 0:
        return iter(stream)
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=workers, prefetch_factor=2,
                                         persistent_workers=True)
    return iter(loader)


def shard_batches(folder: Path, size: int, batch_size: int, length: int, seed: int, rank: int = 0,
                  world: int = 1, keypoints: KeypointInputOptions | None = None) -> Iterator[Batch]:
    """Endless batches from a `handstream gen-data --kind rgb` folder: epochs over its shards in a seeded
    order (each DDP rank reads its own shards), the first `length` frames of each sequence."""
    from models.synth.dataset import ShardDataset

    data = ShardDataset(folder, shuffle_seed=seed, rank=rank, world=world)
    m = data.reader.manifest
    if m.get("kind") != "rgb" or m.get("size") != size or m.get("frames", 0) < length:
        raise ValueError(f"{folder}: shards of kind {m.get('kind')!r}, size {m.get('size')}, {m.get('frames')} frames; "
                         f"this model needs rgb, size {size}, at least {length} frames")

    add_keypoints = _keypoint_inputs(keypoints, seed, rank)

    def batches() -> Iterator[Batch]:
        items = []
        while True:
            for record in data:
                items.append(record_arrays(record, size, length))
                if len(items) == batch_size:
                    yield add_keypoints(collate_sequences(items))
                    items = []
            data.epoch += 1

    return batches()


def synthetic_frames(size: int, count: int, seed: int) -> list[np.ndarray]:
    """`count` synthetic RGB frames (S,S,3) uint8, e.g. to calibrate int8 quantisation."""
    gen = _generator(size, 10, seed)
    frames: list[np.ndarray] = []
    index = 0
    while len(frames) < count:
        frames.extend(gen.sequence(index).rgb)
        index += 1
    return frames[:count]
