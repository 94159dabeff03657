"""Dataset shards: reproducible bytes, resumable after a kill, readable, refusing mismatched reruns."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from models.synth.generate import GenerateOptions, generate_dataset
from models.synth.shards import ShardReader, shard_name

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def bank_file(tmp_path_factory, small_bank) -> Path:
    return small_bank.save(tmp_path_factory.mktemp("bank") / "bank.npz")


def options(out: Path, bank: Path, **kw) -> GenerateOptions:
    base = dict(out=out, kind="depth", sequences=5, frames=3, size=32, seed=9, pose_bank=bank, per_shard=2)
    base.update(kw)
    return GenerateOptions(**base)


def shard_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("shard-*.npz"))}


def test_same_seed_same_bytes_whatever_the_workers(tmp_path, bank_file) -> None:
    one = generate_dataset(options(tmp_path / "a", bank_file, workers=1), progress=False)
    two = generate_dataset(options(tmp_path / "b", bank_file, workers=2), progress=False)
    assert [p.name for p in one.written] == [shard_name(i) for i in range(3)] == [p.name for p in two.written]
    assert shard_bytes(tmp_path / "a") == shard_bytes(tmp_path / "b")
    other = generate_dataset(options(tmp_path / "c", bank_file, seed=10), progress=False)
    assert shard_bytes(tmp_path / "c") != shard_bytes(tmp_path / "a") and len(other.written) == 3


def test_reader_returns_every_sequence_in_order(tmp_path, bank_file) -> None:
    generate_dataset(options(tmp_path, bank_file), progress=False)
    reader = ShardReader(tmp_path)
    assert reader.complete and len(reader) == 5
    records = list(reader)
    assert [int(r["index"]) for r in records] == list(range(5))
    r = records[0]
    assert r["depth"].shape == (3, 32, 32) and r["depth"].dtype == np.uint16
    assert r["joints_3d"].shape == (3, 21, 3) and r["intrinsics"].shape == (6,)
    assert np.load(tmp_path / shard_name(0))["depth"].shape == (2, 3, 32, 32)  # plain np.load works too


def test_rerun_skips_finished_shards_and_refuses_other_settings(tmp_path, bank_file) -> None:
    generate_dataset(options(tmp_path, bank_file), progress=False)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("shard-*.npz")}
    again = generate_dataset(options(tmp_path, bank_file), progress=False)
    assert again.written == [] and again.skipped == 3
    assert before == {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("shard-*.npz")}
    with pytest.raises(ValueError, match="seed"):
        generate_dataset(options(tmp_path, bank_file, seed=1), progress=False)


def test_resume_after_kill_completes_identically(tmp_path, bank_file) -> None:
    args = [sys.executable, "-m", "app.cli", "gen-data", "--kind", "rgb", "--sequences", "20", "--frames", "3",
            "--size", "48", "--seed", "4", "--pose-bank", str(bank_file), "--per-shard", "1"]
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    killed = tmp_path / "killed"
    proc = subprocess.Popen(args + ["--out", str(killed)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(killed.glob("shard-*.npz"))) < 2:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(list(killed.glob("shard-*.npz")))
    assert 2 <= done_before < 20, "the run should have been killed mid-way"
    subprocess.run(args + ["--out", str(killed)], cwd=REPO, env=env, check=True, capture_output=True)
    clean = tmp_path / "clean"
    subprocess.run(args + ["--out", str(clean)], cwd=REPO, env=env, check=True, capture_output=True)
    assert not list(killed.glob("*.tmp-*"))
    assert shard_bytes(killed) == shard_bytes(clean) and len(shard_bytes(clean)) == 20
