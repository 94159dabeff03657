"""Training datasets: on-the-fly and shard-backed streams split disjointly over ranks and loader workers."""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader

from models.synth.dataset import ShardDataset, SynthDataset
from models.synth.generate import GenerateOptions, generate_dataset
from models.synth.pose_flow import FlowOptions
from models.synth.render_depth import DepthOptions
from models.synth.sequence import SequenceGenerator, SequenceOptions

torch.set_num_threads(1)
OPTIONS = SequenceOptions(kind="depth", flow=FlowOptions(frames=2), depth=DepthOptions(size=32))


def test_on_the_fly_batches_and_rank_split(small_bank, hand_model) -> None:
    rank0 = SynthDataset(OPTIONS, seed=3, bank=small_bank, length=6, rank=0, world=2)
    rank1 = SynthDataset(OPTIONS, seed=3, bank=small_bank, length=6, rank=1, world=2)
    batch = next(iter(DataLoader(rank0, batch_size=3)))
    assert batch["depth"].shape == (3, 2, 32, 32) and batch["joints_3d"].dtype == torch.float32
    seen0 = [int(s["bank_index"][0]) for s in rank0]
    seen1 = [int(s["bank_index"][0]) for s in rank1]
    reference = SequenceGenerator(OPTIONS, seed=3, bank=small_bank, model=hand_model)
    # rank r gets sequences r, r + 2, r + 4: exactly the generator's sequences with those numbers
    assert seen0 == [int(reference.sequence(i).truth.bank_index[0]) for i in (0, 2, 4)]
    assert seen1 == [int(reference.sequence(i).truth.bank_index[0]) for i in (1, 3, 5)]


def test_shard_dataset_reads_every_sequence_once_over_two_ranks(tmp_path, small_bank) -> None:
    bank = small_bank.save(tmp_path / "bank.npz")
    generate_dataset(GenerateOptions(out=tmp_path / "d", kind="depth", sequences=5, frames=2, size=32,
                                     pose_bank=bank, per_shard=2), progress=False)
    got = []
    for rank in (0, 1):
        got += [int(s["index"]) for s in ShardDataset(tmp_path / "d", shuffle_seed=0, rank=rank, world=2)]
    assert sorted(got) == list(range(5))
    sample = next(iter(ShardDataset(tmp_path / "d")))
    assert sample["mask"].shape == (2, 32, 32) and np.isfinite(sample["joints_2d"]).all()
