"""SeqHAND-Net checkpoints: the network's options travel with its weights, so export and evaluation
need nothing but the file."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from models.seqhand.config import ModelOptions
from models.seqhand.network import SeqHandNet


def save_checkpoint(path: Path, net: SeqHandNet, **extra: Any) -> Path:
    """Write atomically (temp file + rename) so an interrupted run never leaves a half checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({"model_options": dataclasses.asdict(net.options), "model": net.state_dict(), **extra}, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(path: Path) -> tuple[SeqHandNet, dict[str, Any]]:
    """Rebuild the network from a checkpoint (in eval mode); returns it and the whole saved dict."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many types for a corrupt or foreign file
        raise ValueError(f"{path} is not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(ckpt, dict) or "model_options" not in ckpt or "model" not in ckpt:
        raise ValueError(f"{path} is not a SeqHAND-Net checkpoint (no model_options/model)")
    options = ModelOptions(**{**ckpt["model_options"], "pretrained_backbone": ""})
    net = SeqHandNet(options)
    net.load_state_dict(ckpt["model"])
    return net.eval(), ckpt
