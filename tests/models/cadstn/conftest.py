"""Tiny CADSTN configurations for fast tests (the real sizes are in models/configs/)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.cadstn.config import CadstnConfig, ModelOptions


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def tiny_options(**changes) -> ModelOptions:
    base = dict(channels=[4, 8, 8], fc=32, lstm=16, gate_channels=[4, 4, 4], gate_fc=8, crop_size=32)
    base.update(changes)
    return ModelOptions(**base)


def tiny_config(**changes) -> CadstnConfig:
    return CadstnConfig(model=tiny_options(**changes))


def hand_like_crops(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Crops like the preprocessing makes them: background +1, a blob of depths in (-0.5, 0.5)."""
    rng = np.random.default_rng(seed)
    crops = np.ones(shape, np.float32)
    size = shape[-1]
    yy, xx = np.mgrid[0:size, 0:size]
    flat = crops.reshape(-1, size, size)
    for crop in flat:
        cy, cx, r = rng.uniform(size * 0.3, size * 0.7, 2).tolist() + [rng.uniform(size * 0.15, size * 0.3)]
        blob = (yy - cy) ** 2 + (xx - cx) ** 2 < r ** 2
        crop[blob] = rng.uniform(-0.5, 0.5, blob.sum())
    return flat.reshape(shape)


def toy_sequences(count: int, frames: int, seed: int = 0):
    """Depth sequences of a moving, breathing disc whose 21 'joints' follow its centre and radius:
    enough signal for a network to learn in a few steps, at 160×120."""
    from calibration.intrinsics import CameraIntrinsics
    from models.cadstn.data import DepthSequence

    cam = CameraIntrinsics(fx=200.0, fy=200.0, cx=80.0, cy=60.0, width=160, height=120)
    rng = np.random.default_rng(seed)
    pattern = rng.normal(0.0, 1.0, (21, 3))
    vv, uu = np.mgrid[0:120, 0:160]
    out = []
    for _ in range(count):
        c0, c1 = rng.uniform([-40, -30, 450], [40, 30, 550], (2, 3))
        r0, r1 = rng.uniform(40, 90, 2)
        depth = np.zeros((frames, 120, 160), np.uint16)
        joints = np.zeros((frames, 21, 3))
        for t in range(frames):
            a = t / max(frames - 1, 1)
            c, r = (1 - a) * c0 + a * c1, (1 - a) * r0 + a * r1
            u, v = c[0] * 200 / c[2] + 80, c[1] * 200 / c[2] + 60
            rad_px = r * 200 / c[2]
            disc = (uu - u) ** 2 + (vv - v) ** 2 < rad_px ** 2
            depth[t][disc] = c[2]
            depth[t][~disc] = 1500
            joints[t] = c + pattern * r * 0.5
        out.append(DepthSequence(depth, joints, cam))
    return out
