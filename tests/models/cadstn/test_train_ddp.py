"""A 2-process torchrun (gloo, CPU) run of the spatial stage: both ranks step together, rank 0 writes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from models.cadstn.checkpoint import read_checkpoint
from tests.conftest import REPO_ROOT

SCRIPT = """
import sys, torch
sys.path.insert(0, {root!r})
torch.set_num_threads(1)
from models.cadstn.config import CadstnConfig, DataOptions, TrainOptions
from models.cadstn.data import build_crop_set
from models.cadstn.train import train_stage
from tests.models.cadstn.conftest import tiny_options, toy_sequences

crops = build_crop_set(toy_sequences(3, 6), cube_mm=250.0, size=32)
config = CadstnConfig(model=tiny_options(), data=DataOptions(sequence_length=4, frames=6),
                      train=TrainOptions(out_dir={out!r}, batch_size=4, steps_spatial=3, log_every=1))
train_stage(config, "spatial", crops)
assert torch.distributed.is_initialized() and torch.distributed.get_world_size() == 2
# a file per rank: two processes printing to one pipe can interleave their lines
open({out!r} + f"/rank{{torch.distributed.get_rank()}}.done", "w").close()
"""


def test_two_process_torchrun_spatial_stage(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(SCRIPT.format(root=str(REPO_ROOT), out=str(tmp_path / "run"))))
    env = dict(os.environ, OMP_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE")
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(script)], capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "run" / "rank0.done").is_file() and (tmp_path / "run" / "rank1.done").is_file()
    payload = read_checkpoint(tmp_path / "run" / "spatial.pt")
    assert payload["step"] == 3 and [s for s, _ in payload["history"]] == [1, 2, 3]
    log = [json.loads(line) for line in (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()]
    assert [line["step"] for line in log] == [1, 2, 3] and {line["stage"] for line in log} == {"spatial"}  # rank 0
