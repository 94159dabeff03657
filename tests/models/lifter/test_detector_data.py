"""MediaPipe on renders as lifter training data: real detections near the truth, windows of found frames only."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.lifter.detector_data import DetectorShards, build_shards


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("shards")
    build_shards(folder, seed=5, sequences=2, per_shard=1, frames=8)
    return folder


def test_mediapipe_finds_the_rendered_hand_near_its_truth(shards: Path) -> None:
    data = DetectorShards(shards)
    a = data.arrays
    assert a["found"].shape == (2, 8) and a["theta"].shape == (2, 8, 45)
    assert a["found"].mean() >= 0.5
    found = a["found"]
    err = np.linalg.norm(a["landmarks"][found] - a["joints_2d"][found], axis=-1)
    size = np.ptp(a["joints_2d"][found], axis=1).max(axis=-1)
    assert np.median(err.mean(axis=1) / size) < 0.15  # within 15 % of the hand's extent


def test_shards_are_resumable(shards: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in shards.glob("shard_*.npz")}
    build_shards(shards, seed=5, sequences=2, per_shard=1, frames=8)
    assert {p: p.stat().st_mtime_ns for p in shards.glob("shard_*.npz")} == before


def test_windows_hold_only_frames_found_as_right_hands(shards: Path) -> None:
    data = DetectorShards(shards)
    data._ok_runs = np.array([[1, 1, 1, 0, 1, 1, 1, 1], [0, 1, 1, 1, 1, 1, 0, 0]], bool)
    assert data.windows(4).tolist() == [[0, 4], [1, 1], [1, 2]]
    assert len(data.windows(6)) == 0
    batch = data.batch(np.random.default_rng(0), 5, 4)
    assert batch.features.shape == (5, 4, 126) and batch.joints.shape == (5, 4, 21, 3)
    np.testing.assert_allclose(batch.joints[..., 0, :].numpy(), 0.0, atol=1e-6)
    rot = batch.rotation.numpy()
    np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="no run of 7 frames"):
        data.batch(np.random.default_rng(0), 2, 7)


def test_training_mixes_in_detector_windows_and_starts_from_a_checkpoint(shards: Path, tiny_lifter: Path,
                                                                         tmp_path: Path) -> None:
    import json

    import torch

    from models.lifter.train import train

    def run(name: str, steps: int) -> Path:
        config = tmp_path / f"{name}.toml"
        config.write_text(f"""
[model]
width = 32
hidden = 32
[train]
steps = {steps}
batch_size = 4
log_every = 1
threads = 1
detector_shards = "{shards}"
detector_every = 2
detector_length = 4
init_from = "{tiny_lifter}"
[motion]
length = 6
[output]
dir = "{tmp_path / name}"
""")
        return train(config)

    untouched = torch.load(run("init", 0), weights_only=False)["net"]
    start = torch.load(tiny_lifter, weights_only=False)["net"]
    assert all(torch.equal(untouched[k], start[k]) for k in start)
    mixed = run("mixed", 4)
    lines = [json.loads(x) for x in (mixed.parent / "train_log.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [1, 2, 3, 4]
    assert [x["data"] for x in lines] == ["noise", "detector", "noise", "detector"]
