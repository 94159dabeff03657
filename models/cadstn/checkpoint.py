"""CADSTN checkpoints: one file per stage (`spatial.pt`, `temporal.pt`, `fusion.pt`) in the run folder.

Each holds the config it was trained with and the *whole* model's weights, so the fusion checkpoint
alone is enough to export or evaluate the full network.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from models.cadstn.config import CadstnConfig, config_from_dict
from models.cadstn.fusion import Cadstn
from models.checkpoint_file import load_payload, save_payload


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    save_payload(path, payload)


def read_checkpoint(path: Path) -> dict[str, Any]:
    return load_payload(path, "CADSTN", ("model", "config"))


def load_model(path: Path, payload: dict[str, Any] | None = None) -> tuple[Cadstn, CadstnConfig, dict[str, Any]]:
    """→ model in eval mode, its config, and the raw checkpoint (stage, step, validation metrics); `payload`: the
    checkpoint already read from `path`."""
    payload = payload if payload is not None else read_checkpoint(path)
    config = config_from_dict(payload["config"], str(path))
    model = Cadstn(config.model)
    model.load_state_dict(payload["model"])
    model.eval()
    return model, config, payload
