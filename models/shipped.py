"""Where the shipped files live: ``weights/`` beside the code, or the folder ``HANDSTREAM_WEIGHTS`` names.

Why one resolver: the models, the hand model and MediaPipe's bundle are all found here, so an installation that
keeps its weights elsewhere (a read-only image, a shared cache) sets one variable instead of passing a path to
every command.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_WEIGHTS = Path(__file__).resolve().parents[1] / "weights"


def weights_dir() -> Path:
    """``$HANDSTREAM_WEIGHTS`` if set, else the repository's ``weights/``."""
    return Path(os.environ["HANDSTREAM_WEIGHTS"]).expanduser() if os.environ.get("HANDSTREAM_WEIGHTS") \
        else REPO_WEIGHTS


def shipped_file(name: str) -> Path:
    """The shipped file ``name`` (e.g. ``lifter_compact.onnx``), wherever the weights are."""
    return weights_dir() / name
