"""Pretraining on synthetic pose-flow sequences: targets match the renderer, a tiny run learns."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from models.hand.layer import HandLayer
from models.seqhand.config import LossWeights
from models.seqhand.losses import seqhand_loss
from models.seqhand.network import hand_geometry
from models.seqhand.train import train


def test_synthetic_targets_are_what_the_ground_truth_parameters_produce(synthetic_batch) -> None:
    batch = synthetic_batch
    t = batch.targets
    assert batch.images.shape == (2, 4, 3, 64, 64) and 0.0 <= batch.images.min() and batch.images.max() <= 1.0
    geometry = hand_geometry(t.params, HandLayer())
    # the 26 ground-truth parameters through our camera model reproduce the rendered labels
    torch.testing.assert_close(geometry.joints_2d, t.joints_2d, atol=1e-4, rtol=0)
    torch.testing.assert_close(geometry.joints_3d, t.joints_3d, atol=1e-5, rtol=0)
    terms = seqhand_loss(t.params, geometry, t, LossWeights())
    assert terms.joint_2d.item() < 1e-4 and terms.camera.item() == 0.0
    assert terms.mask.item() < 0.3  # only vertices on the silhouette's edge read as half outside
    # beta is fixed per sequence, theta moves: the temporal term sees only pose changes
    assert torch.equal(t.params[:, 0, 10:20], t.params[:, -1, 10:20])


@pytest.mark.parametrize("precision, keypoints", [("fp32", False), ("bf16", False), ("fp32", True)])
def test_tiny_pretraining_run_reduces_the_loss(tmp_path: Path, tiny_config, monkeypatch, precision: str,
                                               keypoints: bool) -> None:
    import models.precision
    import models.seqhand.train as train_module

    monkeypatch.setattr(models.precision, "native_bf16", lambda device: True)  # bf16 even where emulated
    seen = set()

    class Spied(train_module.SeqHandNet):
        def forward(self, *args, **kwargs):
            params, state = super().forward(*args, **kwargs)
            seen.add(params.dtype)
            return params, state

    monkeypatch.setattr(train_module, "SeqHandNet", Spied)
    model = "keypoint_heatmaps = true\n" if keypoints else ""  # heatmaps of fresh detections, spoiled RGB
    config = tiny_config(tmp_path / "c.toml", model + f"""
[pretrain]
precision = "{precision}"
seed = 3
steps = 40
batch_size = 2
sequence_length = 3
sequences = 2     # the same two sequences every step: the loss must fall
lr = 3e-3
log_every = 1
checkpoint_every = 40
[output]
dir = "{tmp_path / 'out'}"
""")
    ckpt = train(config)
    assert seen == {torch.bfloat16 if precision == "bf16" else torch.float32}  # the network ran in it
    saved = torch.load(ckpt, weights_only=False)
    assert all(v.dtype == torch.float32 for v in saved["model"].values() if v.is_floating_point())
    log = [json.loads(line) for line in (tmp_path / "out" / "pretrain_log.jsonl").read_text().splitlines()]
    assert len(log) == 40 and saved["step"] == 40
    first = np.mean([r["total"] for r in log[:8]])
    last = np.mean([r["total"] for r in log[-8:]])
    assert last < 0.7 * first, (first, last)
    assert all(r["temporal"] > 0 for r in log)  # 3-frame sequences: the temporal term is active


def test_max_tilt_keeps_the_synthetic_hands_turned_towards_the_camera() -> None:
    from scipy.spatial.transform import Rotation

    from models.seqhand.synthetic import synthetic_batches
    from models.synth.sequence import FACING_CAMERA

    def tilts(max_tilt_deg: float) -> np.ndarray:
        batch = next(synthetic_batches(32, 4, 3, seed=5, max_tilt_deg=max_tilt_deg))
        rotations = Rotation.from_rotvec(batch.targets.params[..., 23:26].reshape(-1, 3).numpy())
        return np.degrees((rotations * FACING_CAMERA.inv()).magnitude())

    assert tilts(30.0).max() <= 30.0 + 1e-3
    assert tilts(180.0).max() > 30.0  # uniform orientations reach far beyond


def test_pretraining_reads_gen_data_shards(tmp_path: Path, tiny_config) -> None:
    from models.seqhand.synthetic import shard_batches
    from models.synth.generate import GenerateOptions, generate_dataset
    from models.synth.shards import ShardReader

    data = tmp_path / "shards"
    generate_dataset(GenerateOptions(out=data, kind="rgb", sequences=3, frames=4, size=64, seed=2, bank_size=200,
                                     per_shard=2), progress=False)
    records = list(ShardReader(data))
    batch = next(shard_batches(data, 64, batch_size=3, length=3, seed=0))
    assert batch.images.shape == (3, 3, 3, 64, 64) and batch.targets.params.shape == (3, 3, 26)
    # every sequence of the folder, each its first three frames, in metres and crop coordinates
    got = sorted(batch.targets.joints_3d.numpy().tolist())
    want = sorted((np.stack([r["joints_3d"][:3] for r in records]) / 1000.0).tolist())
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-6)
    with pytest.raises(ValueError, match="this model needs rgb, size 128"):
        shard_batches(data, 128, batch_size=1, length=3, seed=0)
    config = tiny_config(tmp_path / "c.toml", f"""
[pretrain]
steps = 3
batch_size = 2
sequence_length = 3
shards = "{data}"
log_every = 1
checkpoint_every = 3
[output]
dir = "{tmp_path / 'out'}"
""")
    assert torch.load(train(config), weights_only=False)["step"] == 3
