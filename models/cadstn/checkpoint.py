"""CADSTN checkpoints: one file per stage (`spatial.pt`, `temporal.pt`, `fusion.pt`) in the run folder.

Each holds the config it was trained with and the *whole* model's weights, so the fusion checkpoint
alone is enough to export or evaluate the full network.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from models.cadstn.config import CadstnConfig, config_from_dict
from models.cadstn.fusion import Cadstn


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically: a crash mid-write must not destroy the previous checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many types for a damaged or foreign file
        raise ValueError(f"{path}: not a readable CADSTN checkpoint ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or "model" not in payload or "config" not in payload:
        raise ValueError(f"{path}: not a CADSTN checkpoint (no model weights and config)")
    return payload


def load_model(path: Path) -> tuple[Cadstn, CadstnConfig, dict[str, Any]]:
    """→ model in eval mode, its config, and the raw checkpoint (stage, step, validation metrics)."""
    payload = read_checkpoint(path)
    config = config_from_dict(payload["config"], str(path))
    model = Cadstn(config.model)
    model.load_state_dict(payload["model"])
    model.eval()
    return model, config, payload
