"""Two-stage SeqHAND-Net training (paper §4-5), single process or under torchrun (DDP).

Stage `pretrain`: synthetic pose-flow sequences, all losses of Eq. 14. Stage `finetune` (the paper's
TrainC): real static images as one-frame sequences, Eq. 15, with the recurrent layer frozen so the
visuo-temporal features learned on sequences survive the domain transfer.

Each stage writes `<output dir>/<stage>_last.pt` (atomically, every `checkpoint_every` steps and at the
end) and appends one JSON line per `log_every` steps to `<stage>_log.jsonl`. DDP: WORLD_SIZE/RANK/
LOCAL_RANK from torchrun; gloo on CPU, NCCL on GPU; only rank 0 writes files.
"""
from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.distributed import init_distributed
from models.precision import autocast, training_precision
from models.seqhand.checkpoint import read_checkpoint, save_checkpoint
from models.seqhand.config import SeqHandConfig, load_config
from models.seqhand.data import Batch, image_batches, open_finetune_dataset
from models.seqhand.keypoint_inputs import KeypointInputOptions, with_keypoint_inputs
from models.seqhand.losses import LossTargets, LossTerms, seqhand_loss
from models.seqhand.network import SeqHandNet, hand_geometry

STAGES = ("pretrain", "finetune")


def train(config_path: Path, stage: str | None = None, resume: bool = False) -> Path:
    """Run one stage (default: pretrain) of the config; returns the last checkpoint's path."""
    config = load_config(config_path)
    stage = stage or "pretrain"
    if stage not in STAGES:
        raise ValueError(f"stage {stage!r} is not a seqhand stage; choose from {', '.join(STAGES)}")
    out_dir = Path(config.output_dir)
    ckpt_path = out_dir / f"{stage}_last.pt"
    if resume and not ckpt_path.is_file():
        raise FileNotFoundError(f"--resume: no checkpoint {ckpt_path} to continue")
    if not resume and ckpt_path.exists():
        raise ValueError(f"{ckpt_path} exists: pass --resume to continue it, or set another [output] dir")
    try:  # fail now, not after the first hour of training
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"cannot create the output folder {out_dir}: {exc.strerror}") from None
    if not os.access(out_dir, os.W_OK):
        raise OSError(f"the output folder {out_dir} is not writable")

    rank, world, device = init_distributed()
    try:
        return _run(config, stage, resume, ckpt_path, rank, world, device)
    finally:
        if world > 1:
            torch.distributed.destroy_process_group()


def build_optimizer(net: SeqHandNet, stage: str, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """Adam over what the stage trains; in finetune the recurrent layer is frozen (requires_grad off)."""
    if stage == "finetune":
        for p in net.recurrent_parameters():
            p.requires_grad_(False)
    return torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=lr, weight_decay=weight_decay)


def training_step(net: nn.Module, hand_layer: nn.Module, batch: Batch, config: SeqHandConfig,
                  optimizer: torch.optim.Optimizer, precision: str = "fp32") -> LossTerms:
    """One optimisation step on a batch of sequences (`net` may be DDP-wrapped). With `precision`
    "bf16" the network runs under bfloat16 autocast; the hand layer and the losses stay float32."""
    with autocast(batch.images.device, precision):
        params, _ = net(batch.images, heatmaps=batch.heatmaps)
    params = params.float()
    geometry = hand_geometry(params, hand_layer)
    targets = batch.targets
    if targets.vertices_3d is not None and targets.vertices_3d.shape[-2] != geometry.vertices_3d.shape[-2]:
        targets = LossTargets(**{**targets.__dict__, "vertices_3d": None})  # mesh of another hand model
    terms = seqhand_loss(params, geometry, targets, config.loss)
    optimizer.zero_grad(set_to_none=True)
    terms.total.backward()
    optimizer.step()
    return terms


def make_hand_layer(config: SeqHandConfig) -> nn.Module:
    from models.hand.layer import HandLayer

    return HandLayer(config.model.hand_model or None)


def hand_model_file(config: SeqHandConfig) -> str:
    """File name of the hand model trained with (ONNX metadata `hand_model`: the engine must use the same)."""
    from models.hand.model import resolve_hand_model_path

    return Path(config.model.hand_model).name if config.model.hand_model else resolve_hand_model_path().name


def _run(config: SeqHandConfig, stage: str, resume: bool, ckpt_path: Path, rank: int, world: int,
         device: torch.device) -> Path:
    opts = config.pretrain if stage == "pretrain" else config.finetune
    torch.manual_seed(opts.seed * 1000 + rank)
    precision = training_precision(opts.precision, device, quiet=rank != 0)
    net = SeqHandNet(config.model)
    start = 0
    saved: dict = {}
    if resume:
        saved = read_checkpoint(ckpt_path)
        net.load_state_dict(saved["model"])
        start = int(saved["step"])
    elif stage == "finetune":
        init = Path(config.finetune.init) if config.finetune.init else ckpt_path.with_name("pretrain_last.pt")
        if not init.is_file():
            raise FileNotFoundError(f"finetune needs a pretrained checkpoint: {init} does not exist (finetune.init)")
        net.load_state_dict(read_checkpoint(init)["model"])
    # NHWC convolutions: a compact step took 236 ms instead of 366 on an AVX-512 CPU (no change with AVX2)
    net.to(device, memory_format=torch.channels_last).train()
    optimizer = build_optimizer(net, stage, opts.lr, opts.weight_decay)
    # Cosine decay to 10 % over the stage: short CPU budgets end noticeably better than with a flat
    # rate. Progress is steps done, or wall time spent when `max_minutes` is the tighter limit.
    budget = opts.max_minutes * 60.0
    spent = float(saved.get("seconds", 0.0)) if resume else 0.0
    t0 = time.monotonic() - spent

    def progress(step: int) -> float:
        by_time = (time.monotonic() - t0) / budget if budget > 0 else 0.0
        return min(max(step / opts.steps, by_time), 1.0)

    if resume:
        optimizer.load_state_dict(saved["optimizer"])
    model: nn.Module = net
    if world > 1:
        model = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    hand_layer = make_hand_layer(config).to(device)
    batches = _batches(config, stage, rank, world, start)

    log_path = ckpt_path.with_name(f"{stage}_log.jsonl")
    bar = None
    if rank == 0:
        from tqdm import tqdm

        bar = tqdm(total=opts.steps, initial=start, desc=f"seqhand {stage}", unit="step", dynamic_ncols=True)
    step = start
    done = progress(step) >= 1.0
    while not done:
        lr = opts.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress(step))))
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch = next(batches).to(device)
        terms = training_step(model, hand_layer, batch, config, optimizer, precision)
        step += 1
        done = _all_agree(progress(step) >= 1.0, world, device)
        if rank != 0:
            continue
        bar.update(1)
        bar.set_postfix(loss=f"{terms.total.item():.4g}")
        if step % opts.log_every == 0 or done:
            record = {"step": step, "lr": lr, "seconds": round(time.monotonic() - t0, 2),
                      "frames": step * opts.batch_size * world * _sequence_length(config, stage), **terms.as_floats()}
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with log_path.open("a") as f:
                f.write(json.dumps(record) + "\n")
        if step % opts.checkpoint_every == 0 or done:
            save_checkpoint(ckpt_path, net, optimizer=optimizer.state_dict(), step=step, stage=stage,
                            seconds=time.monotonic() - t0, hand_model=hand_model_file(config))
    if bar is not None:
        bar.close()
    if world > 1:
        torch.distributed.barrier()
    return ckpt_path


def _batches(config: SeqHandConfig, stage: str, rank: int, world: int, start: int) -> Iterator[Batch]:
    size = config.model.input_size
    if stage == "finetune":
        f = config.finetune
        batches = image_batches(open_finetune_dataset(config, size), f.batch_size, f.seed + start, rank, world)
        keypoints = keypoint_options(config, stage)
        if keypoints is None:
            return batches
        rng = np.random.default_rng([f.seed, start, rank, 0x4B50])
        return (with_keypoint_inputs(batch, rng, keypoints) for batch in batches)
    from models.seqhand.synthetic import synthetic_batches

    p = config.pretrain
    seed = p.seed if p.sequences else p.seed * 7919 + start  # a fixed set stays the same set on resume
    return synthetic_batches(size, p.batch_size, p.sequence_length, seed=seed, rank=rank,
                             world=world, shards=Path(p.shards) if p.shards else None, workers=p.workers,
                             sequences=p.sequences, max_tilt_deg=p.max_tilt_deg, scale=(p.scale_min, p.scale_max),
                             keypoints=keypoint_options(config, stage))


def keypoint_options(config: SeqHandConfig, stage: str) -> KeypointInputOptions | None:
    """How a stage's batches get their keypoint heatmaps (None for image-only models)."""
    if not config.model.keypoint_heatmaps:
        return None
    return KeypointInputOptions(sigma=config.model.heatmap_sigma, blank_rgb=getattr(config, stage).blank_rgb)


def _all_agree(flag: bool, world: int, device: torch.device) -> bool:
    """True when any process says so: with a time budget the ranks must still stop on the same step."""
    if world == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
    return bool(t.item())


def _sequence_length(config: SeqHandConfig, stage: str) -> int:
    return config.pretrain.sequence_length if stage == "pretrain" else 1
