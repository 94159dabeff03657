"""A tiny lifter trained for a few steps, shared by the export and evaluation tests."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_lifter(tmp_path_factory) -> Path:
    """A checkpoint of a 32-wide lifter after 40 steps of 32 sequences (a few seconds)."""
    from models.lifter.train import train

    folder = tmp_path_factory.mktemp("lifter")
    config = folder / "tiny.toml"
    config.write_text(f"""
[model]
width = 32
hidden = 32
[train]
steps = 40
batch_size = 32
lr = 3e-3
log_every = 10
checkpoint_every = 1000
threads = 1
[motion]
length = 8
[output]
dir = "{folder / 'run'}"
""")
    return train(config)
