"""SeqHAND-Net checkpoints: the network's options travel with its weights, so export and evaluation
need nothing but the file."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from models.checkpoint_file import load_payload, save_payload
from models.seqhand.config import ModelOptions
from models.seqhand.network import SeqHandNet


def save_checkpoint(path: Path, net: SeqHandNet, **extra: Any) -> Path:
    """Write atomically (temp file + rename) so an interrupted run never leaves a half checkpoint."""
    return save_payload(path, {"model_options": dataclasses.asdict(net.options), "model": net.state_dict(), **extra})


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The saved dict (weights, options, optimiser, step, …) with a one-line error for a bad file."""
    return load_payload(path, "SeqHAND-Net", ("model_options", "model"))


def load_checkpoint(path: Path) -> tuple[SeqHandNet, dict[str, Any]]:
    """Rebuild the network from a checkpoint (in eval mode); returns it and the whole saved dict."""
    ckpt = read_checkpoint(path)
    options = ModelOptions(**{**ckpt["model_options"], "pretrained_backbone": ""})
    net = SeqHandNet(options)
    net.load_state_dict(ckpt["model"])
    return net.eval(), ckpt
