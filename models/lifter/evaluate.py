"""Held-out evaluation of the lifter on synthetic landmark sequences drawn with the detector-error model.

Same range as training (any orientation, 0.3-1.1 m, every fault of `KeypointNoise`) from a seed training
never draws (training seeds are [seed, step]; this is [seed, 10⁹ + i]). Beside the lifter's errors it
reports the same numbers for the noisy metric landmarks it was given — the detector model's own error —
so "better than its input" is read off one table. For MediaPipe on renders through the engine, see the
model card (`engine` evaluation).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from models import metrics
from models.lifter.data import KeypointNoise, LifterData, MotionOptions
from models.lifter.losses import posed_joints
from models.lifter.network import NUM_BETAS, POSE_DIMS


@dataclass
class LifterEvaluation:
    sequences: int
    frames: int
    mean_3d_mm: float          # root-relative, camera axes
    pa_3d_mm: float            # after the best similarity per frame
    mean_2d_px: float          # landmarks through the weak-perspective camera, in image pixels
    acceleration_error_mm: float
    input_pa_3d_mm: float      # the noisy metric landmarks given to the model, after the same alignment
    input_acceleration_error_mm: float
    rotation_error_deg: float

    def summary(self) -> str:
        return (f"{self.sequences} sequences / {self.frames} frames: 3-D {self.mean_3d_mm:.2f} mm (root-relative), "
                f"PA {self.pa_3d_mm:.2f} mm, 2-D {self.mean_2d_px:.2f} px, acceleration error "
                f"{self.acceleration_error_mm:.2f} mm, rotation off by {self.rotation_error_deg:.1f} deg; "
                f"its input (simulated detector): PA {self.input_pa_3d_mm:.2f} mm, acceleration error "
                f"{self.input_acceleration_error_mm:.2f} mm")

    def to_dict(self) -> dict:
        return asdict(self)


def onnx_predictor(path: Path | str):
    """A function (B, T, 126) features -> (B, T, 61) params that streams each sequence through an ONNX file."""
    import json

    from models.onnx_session import open_session

    session = open_session(Path(path), threads=1)
    state_shape = json.loads(session.get_modelmeta().custom_metadata_map["state_shape"])

    def predict(features: np.ndarray) -> np.ndarray:
        out = np.zeros((*features.shape[:2], POSE_DIMS + NUM_BETAS + 6), np.float32)
        for b in range(features.shape[0]):
            h = c = np.zeros(state_shape, np.float32)
            for t in range(features.shape[1]):
                params, h, c = session.run(None, {"features": features[b, t:t + 1], "h": h, "c": c})
                out[b, t] = params[0]
        return out

    return predict


def checkpoint_predictor(path: Path | str):
    from models.lifter.train import load_checkpoint

    net, _ = load_checkpoint(path)

    def predict(features: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.from_numpy(features))[0].numpy()

    return predict


def evaluate(model: Path | str, sequences: int = 200, length: int = 24, seed: int = 1000,
             noise: KeypointNoise | None = None) -> LifterEvaluation:
    """Score an exported ``.onnx`` or a training ``.pt`` on ``sequences`` held-out sequences."""
    from models.lifter.train import make_chain

    model = Path(model)
    predict = onnx_predictor(model) if model.suffix == ".onnx" else checkpoint_predictor(model)
    chain, _ = make_chain()
    data = LifterData(chain, MotionOptions(length=length), noise or KeypointNoise())
    batch = data.batch(np.random.default_rng([seed, 10**9]), sequences)
    params = torch.from_numpy(predict(batch.features.numpy()))
    b, t = params.shape[:2]
    rotation = torch.tensor(Rotation.from_rotvec(params[..., -3:].reshape(-1, 3).numpy()).as_matrix(),
                            dtype=torch.float32).reshape(b, t, 3, 3)
    with torch.no_grad():
        turned, rel = posed_joints(chain, params, rotation)
    k = POSE_DIMS + NUM_BETAS
    uv = params[..., k:k + 1, None] * turned[..., :2] + params[..., None, k + 1:k + 3]
    half = batch.half.numpy()
    pred, gt = rel.numpy() * 1000.0, batch.joints.numpy() * 1000.0
    seen = _seen_world(batch, gt)
    acc = lambda p: float(np.mean([metrics.acceleration_error(p[i], gt[i]) for i in range(b)]))  # noqa: E731
    angle = Rotation.from_matrix(rotation.reshape(-1, 3, 3).numpy()) * \
        Rotation.from_matrix(batch.rotation.reshape(-1, 3, 3).numpy()).inv()
    return LifterEvaluation(
        sequences=b, frames=t, mean_3d_mm=metrics.epe(pred, gt), pa_3d_mm=metrics.pa_epe(pred, gt),
        mean_2d_px=float(((uv - batch.uv).norm(dim=-1).numpy() * half[..., None]).mean()),
        acceleration_error_mm=acc(pred), input_pa_3d_mm=metrics.pa_epe(seen, gt),
        input_acceleration_error_mm=acc(seen - seen.mean(axis=2, keepdims=True) + gt.mean(axis=2, keepdims=True)),
        rotation_error_deg=float(np.degrees(angle.magnitude()).mean()))


def _seen_world(batch, gt_mm: np.ndarray) -> np.ndarray:
    """The metric landmarks the model was given (features 63:126 are wrist-relative, in palm units), in mm at
    the truth's palm size, so that alignment compares shape, not scale."""
    world = batch.features[..., 63:].numpy().reshape(*gt_mm.shape[:2], 21, 3).astype(np.float64)
    palm = np.linalg.norm(gt_mm[..., (5, 9, 13, 17), :] - gt_mm[..., :1, :], axis=-1).mean(axis=-1)
    return world * palm[..., None, None]
