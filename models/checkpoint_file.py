"""Training checkpoints on disk, for both networks: atomic writes and one-line errors on reading."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch


def save_payload(path: Path | str, payload: dict[str, Any]) -> Path:
    """Write atomically (temp file + rename): a crash mid-write must not destroy the previous checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_payload(path: Path | str, kind: str, required: tuple[str, ...]) -> dict[str, Any]:
    """The saved dict of a `kind` checkpoint holding the `required` keys; a missing, damaged or foreign
    file is a FileNotFoundError / ValueError naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a damaged or foreign file
        raise ValueError(f"{path} is not a readable {kind} checkpoint ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or any(key not in payload for key in required):
        raise ValueError(f"{path} is not a {kind} checkpoint (no {'/'.join(required)})")
    return payload
