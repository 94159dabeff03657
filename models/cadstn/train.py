"""Staged CADSTN training (paper Algorithm 1): spatial, then temporal, then the fusion gate alone.

Each stage trains one sub-network and freezes the others (frozen parts run in eval mode: no
dropout, no gradients). Stages write `<out_dir>/<stage>.pt` (whole model, optimiser, step) every
`checkpoint_every` steps and at the end; `resume=True` continues from it. `precision = "bf16"` runs
the forward passes under bfloat16 autocast where the hardware has it (models/precision.py). The
temporal stage starts with the spatial checkpoint's spatial network when there is one (and, with
`temporal_from_spatial`, its own tower from the spatial depth tower); the fusion stage needs both and
takes the spatial weights from `spatial.pt` and the temporal ones from `temporal.pt` (on resume too).
With `init_onnx`, a stage without a checkpoint of its own starts every network from that exported model
(models/cadstn/from_onnx.py) instead, and the earlier stages' checkpoints still replace what they trained.

Multi-process: run under `torchrun` (WORLD_SIZE/RANK/LOCAL_RANK): the trained sub-network is wrapped
in DistributedDataParallel (gloo on CPU, NCCL on GPU); each rank samples its own batches, rank 0
writes checkpoints and logs.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.cadstn.checkpoint import read_checkpoint, save_checkpoint
from models.cadstn.config import STAGES, CadstnConfig, load_config
from models.cadstn.data import CropSet, load_crop_set
from models.cadstn.fusion import Cadstn, fuse
from models.cadstn.keypoints import KeypointInputs
from models.cadstn.losses import pose_loss, spatial_loss
from models.distributed import init_distributed
from models.precision import autocast, training_precision


def train(config_path: Path, stage: str | None = None, resume: bool = False) -> Path:
    """Train one stage (or all three in order when `stage` is None; the crop placer only when asked, with
    `stage="placer"`: models/cadstn/placer.py); → the last checkpoint."""
    config = load_config(Path(config_path))
    if stage is not None and stage not in (*STAGES, "placer"):
        raise ValueError(f"stage {stage!r} is not a CADSTN stage; choose from {', '.join(STAGES)} or placer")
    if stage == "placer" and config.train.steps_placer < 1:
        raise ValueError(f"{config.path} [train]: steps_placer must be positive to train the placer")
    train_set = load_crop_set(config, "train")
    val_set = load_crop_set(config, "val")
    if stage == "placer":
        from models.cadstn.placer import train_placer

        return train_placer(config, train_set, val_set, resume=resume)
    ckpt = Path()
    for name in (stage,) if stage else STAGES:
        ckpt = train_stage(config, name, train_set, val_set, resume=resume)
    return ckpt


def _stage_module(model: Cadstn, stage: str) -> nn.Module:
    return {"spatial": model.spatial, "temporal": model.temporal, "fusion": model.gate}[stage]


def _load_part(model: Cadstn, path: Path, name: str) -> None:
    weights = read_checkpoint(path)["model"]
    getattr(model, name).load_state_dict({k[len(name) + 1:]: v for k, v in weights.items() if k.startswith(name + ".")})


def _frozen_weights(model: Cadstn, out_dir: Path, stage: str) -> None:
    """Load the networks a stage keeps frozen from the earlier stages' latest checkpoints (also on
    resume, so a fusion gate is never trained on top of stale predictors)."""
    spatial, temporal = out_dir / "spatial.pt", out_dir / "temporal.pt"
    if stage == "temporal" and spatial.is_file():
        _load_part(model, spatial, "spatial")
    if stage == "fusion":
        for path, name in ((spatial, "spatial"), (temporal, "temporal")):
            if not path.is_file():
                raise FileNotFoundError(f"the fusion stage needs the {name} stage's checkpoint {path}; train it first")
            _load_part(model, path, name)


def _warm_start_temporal(model: Cadstn) -> None:
    """Start the temporal network's tower and first FC layer from the trained spatial network's depth
    branch (same shapes): the temporal stage then learns the LSTM on features that already see a hand
    instead of training a second tower from scratch."""
    model.temporal.tower.load_state_dict(model.spatial.depth_tower.state_dict())
    model.temporal.fc.load_state_dict(model.spatial.h1_depth.state_dict())


def _init_from_onnx(model: Cadstn, config: CadstnConfig, train_set: CropSet) -> dict:
    """Start every network from the exported file `init_onnx` (its BatchNorm statistics measured on 512
    training crops); → what the checkpoints record of it: the file and the steps it had been trained for."""
    from models.cadstn.from_onnx import model_from_onnx

    path = config.train.init_onnx
    rng = np.random.default_rng([config.train.seed, 0xB7])
    crops, _ = train_set.sample(rng, 512, keypoints=keypoint_inputs(config))
    rebuilt, steps = model_from_onnx(path, config.model, crops)
    model.load_state_dict(rebuilt.state_dict())
    return {"onnx": str(path), "steps": steps}


def _loss(model: Cadstn, trained: nn.Module, stage: str, depth: torch.Tensor, joints: torch.Tensor,
          aux_weight: float) -> torch.Tensor:
    if stage == "spatial":
        out = trained(depth, aux=True)
        return spatial_loss(out.joints, out.aux_depth, out.aux_volume, joints, aux_weight)
    if stage == "temporal":
        pred, _, _ = trained(depth)
        return pose_loss(pred, joints)
    b, t = depth.shape[:2]
    flat = depth.reshape(b * t, *depth.shape[2:])
    with torch.no_grad():  # both predictors are frozen: only the gate learns
        spa = model.spatial(flat, aux=model.options.gate_aux)
        temp, features, _ = model.temporal(depth)
    fused, _ = fuse(trained, flat, spa, temp.reshape(b * t, *temp.shape[2:]), features.reshape(b * t, -1))
    return pose_loss(fused, joints.reshape(b * t, *joints.shape[2:]))


def train_stage(config: CadstnConfig, stage: str, train_set: CropSet, val_set: CropSet | None = None,
                resume: bool = False) -> Path:
    """Train `stage` on `train_set`; → its checkpoint path. Validation (mm) is stored in the checkpoint."""
    from tqdm import tqdm

    t = config.train
    rank, world, device = init_distributed()
    if t.threads > 0:
        torch.set_num_threads(t.threads)
    torch.manual_seed(t.seed)
    precision = training_precision(t.precision, device, quiet=rank != 0)
    out_dir = Path(t.out_dir)
    ckpt_path = out_dir / f"{stage}.pt"
    steps = {"spatial": t.steps_spatial, "temporal": t.steps_temporal, "fusion": t.steps_fusion}[stage]

    model = Cadstn(config.model)
    trained = _stage_module(model, stage)
    for p in model.parameters():
        p.requires_grad_(False)
    for p in trained.parameters():
        p.requires_grad_(True)
    optimizer = torch.optim.Adam(trained.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    milestones = sorted({max(1, round(f * steps)) for f in t.lr_decay_at})
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=t.lr_decay)
    start, history, done_steps, init = 0, [], {}, {}
    if resume and ckpt_path.is_file():  # without a checkpoint, resume starts the stage afresh
        payload = read_checkpoint(ckpt_path)
        model.load_state_dict(payload["model"])
        init = dict(payload.get("init", {}))
        optimizer.load_state_dict(payload["optimizer"])
        scheduler.load_state_dict(payload["scheduler"])
        scheduler.milestones, scheduler.gamma = Counter(milestones), t.lr_decay  # the config may have changed
        for group in optimizer.param_groups if t.resume_lr > 0 else ():
            group["lr"] = t.resume_lr
        start, history = int(payload["step"]), list(payload.get("history", []))
        done_steps = dict(payload.get("steps", {}))
    elif t.init_onnx:
        init = _init_from_onnx(model, config, train_set)
    _frozen_weights(model, out_dir, stage)
    if (stage == "temporal" and start == 0 and t.temporal_from_spatial and not t.init_onnx
            and (out_dir / "spatial.pt").is_file()):
        _warm_start_temporal(model)
    for earlier in STAGES[:STAGES.index(stage)]:  # record what the inherited weights went through
        if (out_dir / f"{earlier}.pt").is_file():
            done_steps[earlier] = int(read_checkpoint(out_dir / f"{earlier}.pt")["step"])
    # NHWC convolutions: a spatial step (batch 64) took 176 ms instead of 256 on an AVX-512 CPU
    model.to(device, memory_format=torch.channels_last)
    model.eval()
    trained.train()
    step_module: nn.Module = trained
    if world > 1:
        step_module = nn.parallel.DistributedDataParallel(trained,
                                                          device_ids=[device.index] if device.type == "cuda" else None)

    rng = np.random.default_rng([t.seed, rank, start])
    seq_len = config.data.sequence_length
    keypoints = keypoint_inputs(config)

    def save(step: int, final: bool = False) -> None:
        if rank != 0:
            return
        payload = {"config": config.to_dict(), "stage": stage, "step": step, "model": model.state_dict(),
                   "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                   "history": history, "steps": {**done_steps, stage: step}, "init": init}
        if final and val_set is not None:
            payload["val_mm"] = validate(model, val_set, config)
        save_checkpoint(ckpt_path, payload)

    bar = tqdm(range(start, steps), initial=start, total=steps, desc=f"cadstn {stage}", disable=rank != 0,
               dynamic_ncols=True)
    log = None
    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
        log = open(out_dir / "train_log.jsonl", "a")  # one JSON line per log_every steps, as every trainer
    t0 = time.time()
    try:
        for step in bar:
            if stage == "spatial":
                depth, joints = train_set.sample(rng, t.batch_size, keypoints=keypoints)
            else:
                depth, joints = train_set.sample(rng, max(1, t.batch_size // seq_len), seq_len, keypoints)
            depth = torch.from_numpy(depth).to(device)
            joints = torch.from_numpy(joints).to(device)
            with autocast(device, precision):
                loss = _loss(model, step_module, stage, depth, joints, t.aux_weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            value = float(loss.detach())
            if (step + 1) % t.log_every == 0 or step + 1 == steps:
                history.append((step + 1, value))
                bar.set_postfix(loss=f"{value:.4f}")
                if log is not None:
                    log.write(json.dumps({"stage": stage, "step": step + 1, "loss": round(value, 6),
                                          "seconds": round(time.time() - t0, 1)}) + "\n")
                    log.flush()
            if (step + 1) % t.checkpoint_every == 0 and step + 1 < steps:
                save(step + 1)
        save(steps, final=True)
    finally:
        bar.close()
        if log is not None:
            log.close()
    if world > 1:
        torch.distributed.barrier()
    return ckpt_path


def keypoint_inputs(config: CadstnConfig) -> KeypointInputs | None:
    """The heatmap channels of an RGB-D model's training batches (None for a depth-only model)."""
    m = config.model
    return KeypointInputs(m.crop_size, m.heatmap_sigma, config.data.keypoint_dropout) if m.keypoints else None


def validate(model: Cadstn, crops: CropSet, config: CadstnConfig) -> dict[str, float]:
    """Mean 3-D joint error in mm of the spatial, temporal and fused predictions on held-out sequences
    (an RGB-D model with simulated detector keypoints on every frame)."""
    from models.cadstn.evaluate import evaluate_crops, model_predictor

    inputs = keypoint_inputs(config)
    if inputs is not None:
        inputs = KeypointInputs(inputs.size, inputs.sigma, dropout=0.0)
    result = evaluate_crops(model_predictor(model), crops, inputs, config.data.val_seed)
    return {name: report.mean_error for name, report in result.reports.items()}
