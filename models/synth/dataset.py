"""Torch datasets of synthetic sequences: generated on the fly (`SynthDataset`) or read from shards
(`ShardDataset`). Both yield the same dicts of numpy arrays (`SynthSequence.to_arrays()` keys), which the
default `DataLoader` collate turns into batched tensors.

Sharding of the work: every (DDP rank, DataLoader worker) pair gets its own disjoint slice — sequence numbers
`i ≡ slot (mod slots)` on the fly, every `slots`-th shard from disk — so no two processes produce the same
sample and results do not depend on how many workers run.
"""
from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from models.synth.pose_bank import PoseBank
from models.synth.sequence import SequenceGenerator, SequenceOptions
from models.synth.shards import ShardReader


def _slot(rank: int | None, world: int | None) -> tuple[int, int]:
    """(this process's slot, number of slots) over DDP ranks × DataLoader workers."""
    if rank is None:
        rank = int(os.environ.get("RANK", "0"))
    if world is None:
        world = int(os.environ.get("WORLD_SIZE", "1"))
    info = get_worker_info()
    workers, worker = (1, 0) if info is None else (info.num_workers, info.id)
    return rank * workers + worker, world * workers


class SynthDataset(IterableDataset):
    """Endless (or `length`-long) stream of generated sequences; sequence i is always the same data.

    The generator (hand model, bank, KD-tree) is built lazily inside each worker; pass a prebuilt `bank` to
    share one bank across workers instead of building the default procedural one in each.
    """

    def __init__(self, options: SequenceOptions = SequenceOptions(), seed: int = 0, bank: PoseBank | None = None,
                 length: int | None = None, start: int = 0, rank: int | None = None,
                 world: int | None = None) -> None:
        super().__init__()
        self.options, self.seed, self.bank = options, seed, bank
        self.length, self.start, self.rank, self.world = length, start, rank, world
        self._generator: SequenceGenerator | None = None

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        if self._generator is None:
            self._generator = SequenceGenerator(self.options, seed=self.seed, bank=self.bank)
        slot, slots = _slot(self.rank, self.world)
        indices = itertools.count(self.start + slot, slots) if self.length is None else \
            range(self.start + slot, self.start + self.length, slots)
        for i in indices:
            yield self._generator.sequence(i).to_arrays()


class ShardDataset(IterableDataset):
    """Sequences from a folder written by `handstream gen-data`, shards split over ranks and workers."""

    def __init__(self, folder: Path | str, shuffle_seed: int | None = None, rank: int | None = None,
                 world: int | None = None) -> None:
        super().__init__()
        self.reader = ShardReader(folder)
        if len(self.reader) == 0:
            raise ValueError(f"{folder}: the dataset has no complete shards")
        self.shuffle_seed, self.rank, self.world = shuffle_seed, rank, world
        self.epoch = 0

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        shards = [p for p in self.reader.shards if p.is_file()]
        if self.shuffle_seed is not None:
            order = np.random.default_rng([self.shuffle_seed, self.epoch]).permutation(len(shards))
            shards = [shards[i] for i in order]
        slot, slots = _slot(self.rank, self.world)
        yield from self.reader.iter_sequences(shards[slot::slots])


def to_tensors(sample: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """One sample dict -> tensors (the DataLoader's collate does this for batches)."""
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sample.items()}
