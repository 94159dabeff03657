"""Fixtures for SeqHAND-Net training tests: a tiny FreiHAND folder in the official layout and a tiny
network config (ResNet-18 at width 8, 64x64 input) so each step takes milliseconds."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

TINY_MODEL = """
[model]
backbone = "resnet18"
width = 8
input_size = 64
temporal = "convlstm"
hidden = 16
"""


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture
def freihand_root(tmp_path: Path) -> Path:
    """Six labelled hands (one version each): coloured discs at the joints on a grey background."""
    from models.hand.model import load_hand_model

    root = tmp_path / "freihand"
    (root / "rgb").mkdir(parents=True)
    (root / "mask").mkdir()
    model = load_hand_model()
    rng = np.random.default_rng(0)
    k = np.array([[300.0, 0, 112], [0, 300.0, 112], [0, 0, 1]])
    xyz, ks, verts = [], [], []
    for i in range(6):
        out = model.forward(rng.normal(0, 0.5, (1, 10)), rng.normal(0, 0.5, (1, 10)))
        offset = np.array([0.0, 0.0, 0.5]) - out.joints[0, 9]  # hand centred 50 cm in front
        joints, vertices = out.joints[0] + offset, out.vertices[0] + offset
        uv = (joints @ k.T)[:, :2] / joints[:, 2:]
        img = np.full((224, 224, 3), 90, np.uint8)
        mask = np.zeros((224, 224), np.uint8)
        for j, (u, v) in enumerate(uv):
            cv2.circle(img, (round(u), round(v)), 6, (40 + 10 * j, 200 - 8 * j, 120), -1)
            cv2.circle(mask, (round(u), round(v)), 8, 255, -1)
        cv2.imwrite(str(root / "rgb" / f"{i:08d}.jpg"), img)
        cv2.imwrite(str(root / "mask" / f"{i:08d}.jpg"), mask)
        xyz.append(joints.tolist())
        ks.append(k.tolist())
        verts.append(vertices.tolist())
    (root / "training_xyz.json").write_text(json.dumps(xyz))
    (root / "training_K.json").write_text(json.dumps(ks))
    (root / "training_verts.json").write_text(json.dumps(verts))
    return root


@pytest.fixture
def tiny_config():
    """Write a config file: the tiny [model] table followed by `body`."""
    def write(path: Path, body: str) -> Path:
        path.write_text(TINY_MODEL + body)
        return path

    return write


@pytest.fixture(scope="session")
def synthetic_batch():
    """One batch of two 4-frame synthetic sequences at 64x64 (rendering set-up takes seconds: share it)."""
    from models.seqhand.synthetic import synthetic_batches

    return next(synthetic_batches(64, batch_size=2, length=4, seed=5))
