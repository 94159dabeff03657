"""SeqHAND-Net training: the finetune stage's frozen ConvLSTM, DDP under torchrun, resume, errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from models.seqhand.checkpoint import save_checkpoint
from models.seqhand.config import load_config
from models.seqhand.data import image_batches, open_finetune_dataset
from models.seqhand.network import SeqHandNet
from models.seqhand.train import build_optimizer, make_hand_layer, train, training_step

REPO = Path(__file__).resolve().parents[3]


def _finetune_config(write_config, tmp_path: Path, root: Path, steps: int = 2, **extra: str) -> Path:
    lines = "".join(f"{k} = {v}\n" for k, v in extra.items())
    return write_config(tmp_path / "ft.toml", f"""
[finetune]
dataset = "freihand"
root = "{root}"
steps = {steps}
batch_size = 2
lr = 0.01
log_every = 1
checkpoint_every = 1
init = "{tmp_path / 'pre.pt'}"
{lines}
[output]
dir = "{tmp_path / 'out'}"
""")


def _pretrained(tmp_path: Path, config_path: Path) -> SeqHandNet:
    torch.manual_seed(1)
    net = SeqHandNet(load_config(config_path).model)
    save_checkpoint(tmp_path / "pre.pt", net)
    return net


def test_finetune_step_leaves_convlstm_unchanged_and_trains_encoder(
        tmp_path: Path, freihand_root: Path, tiny_config) -> None:
    config_path = _finetune_config(tiny_config, tmp_path, freihand_root)
    config = load_config(config_path)
    net = _pretrained(tmp_path, config_path).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    optimizer = build_optimizer(net, "finetune", lr=0.01, weight_decay=0.0)
    batch = next(image_batches(open_finetune_dataset(config, 64), 2, seed=0))
    assert batch.images.shape == (2, 1, 3, 64, 64) and batch.targets.mask is not None
    terms = training_step(net, make_hand_layer(config), batch, config, optimizer)
    assert terms.mesh_3d.item() > 0 and terms.mask.item() > 0 and terms.temporal.item() == 0.0
    after = net.state_dict()
    recurrent = [k for k in before if k.startswith("convlstm.")]
    assert recurrent and all(torch.equal(before[k], after[k]) for k in recurrent)
    assert not torch.equal(before["encoder.conv1.weight"], after["encoder.conv1.weight"])
    assert not torch.equal(before["head.weight"], after["head.weight"])


def test_finetune_run_writes_log_and_checkpoint_and_resumes(
        tmp_path: Path, freihand_root: Path, tiny_config) -> None:
    config_path = _finetune_config(tiny_config, tmp_path, freihand_root, steps=2)
    net = _pretrained(tmp_path, config_path)
    ckpt = train(config_path, stage="finetune")
    saved = torch.load(ckpt, weights_only=False)
    assert saved["step"] == 2 and saved["stage"] == "finetune"
    assert saved["hand_model"] == "handstream_hand_right.pkl"
    assert torch.equal(saved["model"]["convlstm.gates.weight"], net.state_dict()["convlstm.gates.weight"])
    log = [json.loads(line) for line in (tmp_path / "out" / "finetune_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2] and all(r["total"] > 0 for r in log)
    with pytest.raises(ValueError, match="exists: pass --resume"):
        train(config_path, stage="finetune")  # never overwrite a finished run silently
    config_path.write_text(config_path.read_text().replace("steps = 2", "steps = 3"))
    train(config_path, stage="finetune", resume=True)
    assert torch.load(ckpt, weights_only=False)["step"] == 3
    log = (tmp_path / "out" / "finetune_log.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in log] == [1, 2, 3]


def test_finetune_without_pretrained_checkpoint_is_a_clear_error(
        tmp_path: Path, freihand_root: Path, tiny_config) -> None:
    config_path = _finetune_config(tiny_config, tmp_path, freihand_root)
    with pytest.raises(FileNotFoundError, match="pre.pt does not exist"):
        train(config_path, stage="finetune")
    with pytest.raises(FileNotFoundError, match="--resume: no checkpoint"):
        train(config_path, stage="finetune", resume=True)
    with pytest.raises(ValueError, match="not a seqhand stage"):
        train(config_path, stage="spatial")


def test_torchrun_two_processes_on_cpu(
        tmp_path: Path, freihand_root: Path, tiny_config) -> None:
    config_path = _finetune_config(tiny_config, tmp_path, freihand_root, steps=3)
    net = _pretrained(tmp_path, config_path)
    script = tmp_path / "run.py"
    script.write_text("import sys\nfrom pathlib import Path\nfrom models.seqhand.train import train\n"
                      "print('rank done', train(Path(sys.argv[1]), stage='finetune'))\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(script),
         str(config_path)], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("rank done") == 2
    saved = torch.load(tmp_path / "out" / "finetune_last.pt", weights_only=False)
    assert saved["step"] == 3
    # DDP wraps the bare network: the checkpoint keys are the plain ones and the ConvLSTM stayed frozen
    assert torch.equal(saved["model"]["convlstm.gates.weight"], net.state_dict()["convlstm.gates.weight"])
    assert not torch.equal(saved["model"]["encoder.conv1.weight"], net.state_dict()["encoder.conv1.weight"])
    log = [json.loads(line) for line in (tmp_path / "out" / "finetune_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3]  # only rank 0 writes
    assert log[-1]["frames"] == 3 * 2 * 2  # steps x batch x processes
