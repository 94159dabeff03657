"""CADSTN's placer: a small network that says where the hand is in a depth crop the detector cut, so the engine can
cut it again there before CADSTN reads it.

Why a network of its own: on whole frames the depth detector centres some crops 50-130 mm down the forearm (the
blob holds the hand and a long piece of arm). CADSTN, trained on crops within ~12 mm of the hand's centre, reads a
hand at such a crop's centre, and its re-cut stays on the arm. Taught such crops too (runs 10-12, the CADSTN card),
the compact network found the hand from there but paid with precision on crops around it. The placer learns only
where the hand is, from crops around the hand and down the arm (`DataOptions.off_hand_sequences`), at a 32×32
resolution; its file is 1.2 MB and a look costs a fraction of a millisecond. The engine moves the crop only when the
placer finds the hand more than `engine.estimators.cadstn.PLACER_MOVE_MM` from its centre
(`handstream train cadstn --stage placer`, `handstream export cadstn --ckpt placer.pt`).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.cadstn.config import CadstnConfig

PLACER_CHANNELS = (16, 32, 64)  # conv widths at 32², 16², 8² (the crop is halved first)
PLACER_FC = 256


def _stage(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.MaxPool2d(2))


class Placer(nn.Module):
    """Depth crop (B, 1, M, M) in [−1, 1] → the K joints (B, K, 3), crop-normalised like CADSTN's; only their
    centroid (where to cut) and, for a new hand, their wrist → middle-knuckle axis (how to turn) are used."""

    def __init__(self, crop_size: int = 64, joints: int = 21) -> None:
        super().__init__()
        self.joints = joints
        a, b, c = PLACER_CHANNELS
        self.features = nn.Sequential(nn.AvgPool2d(2), _stage(1, a), _stage(a, b), _stage(b, c))
        side = crop_size // 16
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c * side * side, PLACER_FC), nn.ReLU(inplace=True),
                                  nn.Linear(PLACER_FC, joints * 3))

    def forward(self, depth: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(depth)).view(-1, self.joints, 3)


def train_placer(config: CadstnConfig, train_set, val_set=None, resume: bool = False) -> Path:
    """Train the placer for `config.train.steps_placer` steps on `train_set`'s depth crops (Adam at `lr`, smooth L1
    on the joints); → `<out_dir>/placer.pt`, which also holds the held-out centroid error in mm."""
    from tqdm import tqdm

    from models.cadstn.checkpoint import read_checkpoint, save_checkpoint

    t, m = config.train, config.model
    if t.threads > 0:
        torch.set_num_threads(t.threads)
    torch.manual_seed(t.seed)
    out = Path(t.out_dir) / "placer.pt"
    placer = Placer(m.crop_size, m.joints)
    optimizer = torch.optim.Adam(placer.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    milestones = sorted({max(1, round(f * t.steps_placer)) for f in t.lr_decay_at})
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=t.lr_decay)
    start, history = 0, []
    if resume and out.is_file():
        payload = read_checkpoint(out)
        placer.load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
        scheduler.load_state_dict(payload["scheduler"])
        start, history = int(payload["step"]), list(payload.get("history", []))
    rng = np.random.default_rng([t.seed, 0x91, start])
    out.parent.mkdir(parents=True, exist_ok=True)

    def save(step: int, final: bool = False) -> None:
        payload = {"config": config.to_dict(), "stage": "placer", "step": step, "model": placer.state_dict(),
                   "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "history": history,
                   "steps": {"placer": step}}
        if final and val_set is not None:
            payload["val_mm"] = {"centroid": centroid_error_mm(placer, val_set)}
        save_checkpoint(out, payload)

    placer.train()
    t0 = time.time()
    with open(out.parent / "train_log.jsonl", "a") as log:
        for step in tqdm(range(start, t.steps_placer), initial=start, total=t.steps_placer, desc="cadstn placer",
                         dynamic_ncols=True):
            depth, joints = train_set.sample(rng, t.batch_size)
            loss = nn.functional.smooth_l1_loss(placer(torch.from_numpy(depth[:, :1])), torch.from_numpy(joints),
                                                beta=0.02)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            if (step + 1) % t.log_every == 0 or step + 1 == t.steps_placer:
                history.append((step + 1, float(loss.detach())))
                log.write(json.dumps({"stage": "placer", "step": step + 1, "loss": round(history[-1][1], 6),
                                      "seconds": round(time.time() - t0, 1)}) + "\n")
                log.flush()
            if (step + 1) % t.checkpoint_every == 0 and step + 1 < t.steps_placer:
                save(step + 1)
    save(t.steps_placer, final=True)
    return out


@torch.no_grad()
def centroid_error_mm(placer: Placer, crops) -> float:
    """Mean distance (mm) between the placer's and the true joints' centroid on a crop set."""
    was_training = placer.training
    placer.eval()
    found = np.concatenate([placer(torch.from_numpy(crops.depth[i:i + 256, :1])).numpy()
                            for i in range(0, len(crops), 256)])
    placer.train(was_training)
    return float(np.linalg.norm(found.mean(axis=1) - crops.joints.mean(axis=1), axis=-1).mean() * crops.cube_mm / 2)


def export_placer(ckpt: Path, out: Path, payload: dict | None = None) -> Path:
    """A placer checkpoint → ONNX (`depth` (1, 1, M, M) → `joints` (1, K, 3)), with the crop it was trained on in
    its metadata (model "cadstn_placer"), which the engine checks against the CADSTN file it places crops for;
    `payload`: the checkpoint already read from `ckpt`."""
    import warnings

    from models.cadstn.checkpoint import read_checkpoint
    from models.cadstn.config import config_from_dict
    from models.onnx_session import write_metadata

    payload = payload if payload is not None else read_checkpoint(Path(ckpt))
    if payload.get("stage") != "placer":
        raise ValueError(f"{ckpt} is not a placer checkpoint (stage {payload.get('stage')!r})")
    config = config_from_dict(payload["config"], str(ckpt))
    m = config.model
    placer = Placer(m.crop_size, m.joints)
    placer.load_state_dict(payload["model"])
    placer.eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # dynamo=False, as CADSTN's own export
        torch.onnx.export(placer, (torch.zeros(1, 1, m.crop_size, m.crop_size),), str(out), dynamo=False,
                          opset_version=17, input_names=["depth"], output_names=["joints"])
    write_metadata(Path(out), {"model": "cadstn_placer", "cube_mm": f"{m.cube_mm:g}", "crop_size": str(m.crop_size),
                               "upright": str(m.upright).lower(), "axis": config.data.axis,
                               "trained_steps": json.dumps({"placer": int(payload["step"])})})
    return Path(out)
