"""Training the lifter on synthetic landmark sequences, from a TOML config (models/configs/lifter.toml).

One stage: batches are drawn fresh each step (`models.lifter.data`), so there is no epoch and no data on disk
(optionally every few steps a batch of MediaPipe's landmarks on renders instead, `models.lifter.detector_data`);
the wall-clock budget (``max_minutes``) ends the run and drives a cosine learning-rate decay, like SeqHAND-Net's
pretraining. One JSON line per ``log_every`` steps goes to ``<dir>/train_log.jsonl``; ``<dir>/lifter.pt``
is written every ``checkpoint_every`` steps and at the end, and ``--resume`` continues from it.
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from models.checkpoint_file import load_payload, save_payload
from models.config_file import fill_table, read_toml
from models.lifter.data import KeypointNoise, LifterData, MotionOptions
from models.lifter.losses import LifterLossWeights, lifter_loss
from models.lifter.network import LifterNet, LifterOptions


@dataclass
class TrainOptions:
    seed: int = 0
    steps: int = 100000
    max_minutes: float = 30.0
    batch_size: int = 256
    lr: float = 1e-3
    min_lr: float = 1e-5
    log_every: int = 50
    checkpoint_every: int = 500
    threads: int = 2
    # MediaPipe on renders (models.lifter.detector_data shards): every `detector_every`-th step trains on a
    # batch of `detector_length`-frame windows of them instead of the noise model ("" or 0: never)
    detector_shards: str = ""
    detector_every: int = 0
    detector_length: int = 12
    # a checkpoint whose weights this run starts from (a new schedule, unlike --resume): e.g. a run on the
    # noise model alone, continued with MediaPipe's detections mixed in
    init_from: str = ""


@dataclass
class LifterConfig:
    model: LifterOptions = field(default_factory=LifterOptions)
    train: TrainOptions = field(default_factory=TrainOptions)
    motion: MotionOptions = field(default_factory=MotionOptions)
    noise: KeypointNoise = field(default_factory=KeypointNoise)
    loss: LifterLossWeights = field(default_factory=LifterLossWeights)
    output_dir: str = "runs/lifter"


def load_config(path: Path | str) -> LifterConfig:
    """Tables [model], [train], [motion], [noise], [loss] and [output] dir = "..."; all optional."""
    raw = read_toml(path)
    known = {f.name for f in dataclasses.fields(LifterConfig)} - {"output_dir"} | {"output"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"{path}: unknown table [{unknown[0]}] (expected {', '.join(sorted(known))})")
    config = LifterConfig()
    for name in ("model", "train", "motion", "noise", "loss"):
        if name in raw:
            table = {k: tuple(v) if isinstance(v, list) else v for k, v in raw[name].items()}
            setattr(config, name, _fill(type(getattr(config, name)), table, path, name))
    if "output" in raw:
        config.output_dir = str(raw["output"].get("dir", config.output_dir))
    return config


def _fill(cls: type, table: dict, path: Path | str, name: str):
    """fill_table, with (low, high) pairs given as two-element TOML arrays."""
    pairs = {k: v for k, v in table.items() if isinstance(v, tuple)}
    rest = fill_table(cls, {k: v for k, v in table.items() if k not in pairs}, path, name)
    for key, value in pairs.items():
        if key not in {f.name for f in dataclasses.fields(cls)} or len(value) != 2:
            raise ValueError(f"{path}: {name}.{key} must be a known [low, high] pair")
        setattr(rest, key, (float(value[0]), float(value[1])))
    return rest


def make_chain():
    """The hand model's joints as a torch function (joints only: ~50x cheaper than skinning the mesh)."""
    from models.hand.model import load_hand_model
    from models.synth.ik import JointChain

    model = load_hand_model()
    return JointChain(model), model.path.name if model.path is not None else model.name


def train(config_path: Path | str, resume: bool = False) -> Path:
    """Train until ``steps`` or ``max_minutes``; returns the checkpoint path."""
    config = load_config(config_path)
    o = config.train
    torch.set_num_threads(o.threads)
    torch.manual_seed(o.seed)
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt, log_path = out / "lifter.pt", out / "train_log.jsonl"
    chain, hand_name = make_chain()
    net = LifterNet(config.model)
    optim = torch.optim.Adam(net.parameters(), lr=o.lr)
    step, spent = 0, 0.0
    if o.init_from and not resume:
        net.load_state_dict(load_payload(o.init_from, "lifter", ("net",))["net"])
    if resume:
        payload = load_payload(ckpt, "lifter", ("net", "optim", "step"))
        net.load_state_dict(payload["net"])
        optim.load_state_dict(payload["optim"])
        step, spent = payload["step"], payload.get("seconds", 0.0)
    data = LifterData(chain, config.motion, config.noise)
    shards = None
    if o.detector_shards and o.detector_every > 0:
        from models.lifter.detector_data import DetectorShards

        shards = DetectorShards(o.detector_shards)
    budget = o.max_minutes * 60.0
    start = time.perf_counter() - spent

    def save() -> None:
        save_payload(ckpt, {"net": net.state_dict(), "optim": optim.state_dict(), "step": step,
                            "seconds": time.perf_counter() - start, "options": dataclasses.asdict(config.model),
                            "hand_model": hand_name, "config": str(config_path)})

    while step < o.steps:
        elapsed = time.perf_counter() - start
        if elapsed >= budget:
            break
        progress = max(step / o.steps, elapsed / budget)
        for group in optim.param_groups:
            group["lr"] = o.min_lr + 0.5 * (o.lr - o.min_lr) * (1 + math.cos(math.pi * progress))
        rng = np.random.default_rng([o.seed, step])
        source = "detector" if shards is not None and step % o.detector_every == o.detector_every - 1 else "noise"
        if source == "detector":
            batch = shards.batch(rng, o.batch_size, o.detector_length)
        else:
            batch = data.batch(rng, o.batch_size)
        params, rotation, _ = net(batch.features)
        loss, terms = lifter_loss(chain, params, rotation, batch, config.loss)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        optim.step()
        step += 1
        if step % o.log_every == 0:
            with log_path.open("a") as f:
                f.write(json.dumps({"step": step, "seconds": round(time.perf_counter() - start, 1),
                                    "lr": optim.param_groups[0]["lr"], "data": source, "loss": float(loss.detach()),
                                    **terms}) + "\n")
        if step % o.checkpoint_every == 0:
            save()
    save()
    return ckpt


def load_checkpoint(path: Path | str) -> tuple[LifterNet, dict]:
    """The network of a lifter checkpoint, in eval mode, and the saved payload."""
    payload = load_payload(path, "lifter", ("net", "options"))
    net = LifterNet(LifterOptions(**payload["options"]))
    net.load_state_dict(payload["net"])
    return net.eval(), payload
