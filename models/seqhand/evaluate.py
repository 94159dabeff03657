"""Held-out evaluation of a SeqHAND-Net checkpoint on synthetic sequences (the model card's numbers).

Numbers (paper §5 and Table 2): mean root-relative 3-D joint error (mm), mean 2-D joint error in
pixels of the network's input crop, 3D-PCK AUC over 20-50 mm, and temporal smoothness (mean per-frame
change of beta and theta, joint acceleration error), each sequence run from a fresh state. Also the
Procrustes-aligned 3-D error (PA-MPJPE, as FreiHAND reports) and, where the truth parameters are known,
where the error comes from: the 3-D error with one group of the predicted parameters (global rotation,
shape, pose) replaced by the truth.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models import metrics
from models.seqhand.data import Batch
from models.seqhand.network import BETA, ROT, THETA, hand_geometry
from models.synth.sequence import ANY_TILT_DEG, DEFAULT_SCALE


@dataclass
class SeqHandEvaluation:
    sequences: int
    frames: int
    mean_3d_mm: float
    mean_2d_px: float
    auc_3d_20_50: float
    beta_change: float
    theta_change: float
    acceleration_error_mm: float
    pa_mean_3d_mm: float  # after the best similarity per frame: articulation alone
    # 3-D error (mm) with the predicted "rotation", "shape" (beta) or "pose" (theta) replaced by the truth;
    # empty when the data carry no truth parameters
    with_true_mm: dict[str, float] = field(default_factory=dict)
    # mean angle between the predicted and the true global rotation, and of its two parts: the tilt out of
    # the image plane (what a weak-perspective view shows only as foreshortening) and the turn within it
    rotation_error_deg: float | None = None
    rotation_tilt_deg: float | None = None
    rotation_in_plane_deg: float | None = None

    def summary(self) -> str:
        text = (f"{self.sequences} sequences / {self.frames} frames: 3-D {self.mean_3d_mm:.2f} mm (root-relative), "
                f"PA {self.pa_mean_3d_mm:.2f} mm, 2-D {self.mean_2d_px:.2f} px, 3D-PCK AUC(20-50 mm) "
                f"{self.auc_3d_20_50:.3f}, mean |d beta| {self.beta_change:.4f}, mean |d theta| "
                f"{self.theta_change:.4f}, acceleration error {self.acceleration_error_mm:.2f} mm")
        if self.with_true_mm:
            text += "; 3-D with the true " + ", ".join(f"{k} {v:.2f}" for k, v in self.with_true_mm.items()) + " mm"
        if self.rotation_error_deg is not None:
            text += (f"; global rotation off by {self.rotation_error_deg:.1f} deg (tilt {self.rotation_tilt_deg:.1f}, "
                     f"in the image plane {self.rotation_in_plane_deg:.1f})")
        return text


# images (B,T,3,S,S), keypoint heatmaps (B,T,21,S,S) or None -> params (B,T,26)
Predictor = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]


@torch.no_grad()
def evaluate_batches(predict: Predictor, input_size: int, hand_layer: nn.Module,
                     batches: Iterable[Batch]) -> SeqHandEvaluation:
    """Run `predict` over each batch of sequences (fresh state per sequence) and score it."""
    half = input_size / 2.0
    pred3, gt3, pred2, gt2, params_all = [], [], [], [], []
    swapped: dict[str, list[np.ndarray]] = {name: [] for name in _GROUPS}
    angles: list[np.ndarray] = []
    for batch in batches:
        if batch.targets.joints_3d is None:
            raise ValueError("evaluation needs 3-D ground truth")
        params = predict(batch.images, batch.heatmaps)
        geo = hand_geometry(params, hand_layer)
        pred3.append(_root_relative_mm(geo.joints_3d))
        gt3.append(_root_relative_mm(batch.targets.joints_3d))
        pred2.append(geo.joints_2d.numpy() * half)
        gt2.append(batch.targets.joints_2d.numpy() * half)
        params_all.append(params.numpy())
        if batch.targets.params is not None:
            for name, group in _GROUPS.items():
                mixed = params.clone()
                mixed[..., group] = batch.targets.params[..., group]
                swapped[name].append(_root_relative_mm(hand_geometry(mixed, hand_layer).joints_3d))
            angles.append(_rotation_errors_deg(params[..., ROT], batch.targets.params[..., ROT]))
    if not pred3:
        raise ValueError("no sequences to evaluate")
    p3, g3 = np.concatenate(pred3), np.concatenate(gt3)  # (N,T,21,3)
    with_true = {name: metrics.epe(np.concatenate(parts), g3) for name, parts in swapped.items()
                 if len(parts) == len(pred3)}
    params = np.concatenate(params_all)
    temporal = params.shape[1] >= 3
    return SeqHandEvaluation(
        sequences=p3.shape[0],
        frames=p3.shape[0] * p3.shape[1],
        mean_3d_mm=metrics.epe(p3, g3),
        mean_2d_px=metrics.epe(np.concatenate(pred2), np.concatenate(gt2)),
        auc_3d_20_50=metrics.pck_auc(p3, g3),
        beta_change=float(np.mean([metrics.mean_change(p[:, BETA]) for p in params])) if temporal else 0.0,
        theta_change=float(np.mean([metrics.mean_change(p[:, THETA]) for p in params])) if temporal else 0.0,
        acceleration_error_mm=float(np.mean([metrics.acceleration_error(a, b) for a, b in zip(p3, g3)]))
        if temporal else 0.0,
        pa_mean_3d_mm=metrics.pa_epe(p3, g3),
        with_true_mm=with_true,
        **_mean_rotation_errors(angles if len(angles) == len(pred3) else []),
    )


_GROUPS = {"rotation": ROT, "shape": BETA, "pose": THETA}


def _root_relative_mm(joints: torch.Tensor) -> np.ndarray:
    return (joints - joints[..., :1, :]).numpy() * 1000.0


def _rotation_errors_deg(r_pred: torch.Tensor, r_true: torch.Tensor) -> np.ndarray:
    """(N, 3): angle, tilt and in-plane turn of the rotation taking the true global rotation to the
    predicted one (axis-angle inputs, camera frame: z the optical axis), by swing-twist about z."""
    from scipy.spatial.transform import Rotation

    error = Rotation.from_rotvec(r_pred.reshape(-1, 3).double().numpy()) * \
        Rotation.from_rotvec(r_true.reshape(-1, 3).double().numpy()).inv()
    _, _, z, w = error.as_quat().T
    twist = 2.0 * np.arctan2(np.abs(z), np.abs(w))
    swing = 2.0 * np.arccos(np.clip(np.hypot(w, z), 0.0, 1.0))
    return np.degrees(np.stack([error.magnitude(), swing, twist], axis=1))


def _mean_rotation_errors(parts: list[np.ndarray]) -> dict[str, float | None]:
    names = ("rotation_error_deg", "rotation_tilt_deg", "rotation_in_plane_deg")
    if not parts:
        return dict.fromkeys(names)
    return {name: float(v) for name, v in zip(names, np.concatenate(parts).mean(axis=0))}


def onnx_predictor(path: Path, threads: int = 1) -> tuple[Predictor, int]:
    """Stream each sequence frame by frame through an exported model, exactly as the engine does."""
    import json

    from models.onnx_session import open_session

    session = open_session(path, threads)
    meta = session.get_modelmeta().custom_metadata_map
    state_shape = json.loads(meta["state_shape"])
    keypoints = meta.get("keypoint_heatmaps") == "true"

    def predict(images: torch.Tensor, heatmaps: torch.Tensor | None) -> torch.Tensor:
        if keypoints and heatmaps is None:
            raise ValueError(f"{path} reads keypoint heatmaps beside the image; the batches have none")
        out = np.zeros((*images.shape[:2], 26), np.float32)
        for b in range(images.shape[0]):
            state = {"h": np.zeros(state_shape, np.float32), "c": np.zeros(state_shape, np.float32)}
            for t in range(images.shape[1]):
                feed = {"image": images[b : b + 1, t].numpy(), **(state if state_shape else {})}
                if keypoints:
                    feed["heatmaps"] = heatmaps[b : b + 1, t].numpy()
                result = session.run(None, feed)
                out[b, t] = result[0][0]
                if state_shape:
                    state = {"h": result[1], "c": result[2]}
        return torch.from_numpy(out)

    return predict, int(meta["input_size"])


def _heatmap_sigma(model: Path) -> float | None:
    """The heatmap sigma of a keypoint_heatmaps model (.onnx metadata or checkpoint), None for image-only ones."""
    if model.suffix == ".onnx":
        from models.onnx_session import open_session

        meta = open_session(model, 1).get_modelmeta().custom_metadata_map
        return float(meta["heatmap_sigma"]) if meta.get("keypoint_heatmaps") == "true" else None
    from models.seqhand.checkpoint import read_checkpoint

    options = read_checkpoint(model)["model_options"]
    return float(options["heatmap_sigma"]) if options.get("keypoint_heatmaps") else None


def evaluate_synthetic(model: Path, sequences: int = 100, length: int = 10, seed: int = 424242,
                       batch_size: int = 4, max_tilt_deg: float = ANY_TILT_DEG,
                       scale: tuple[float, float] = DEFAULT_SCALE) -> SeqHandEvaluation:
    """Score a checkpoint (.pt) or an exported model (.onnx) on `sequences` synthetic sequences
    generated with `seed` (pick one the training never used: training seeds are small integers) and
    hand orientations up to `max_tilt_deg` from facing the camera (180: any) and weak-perspective scales in
    `scale` (what the model was trained on). A keypoint_heatmaps model gets heatmaps of the detector-error
    model's keypoints beside the RGB as rendered (no blanking, no extra colour changes)."""
    from itertools import islice

    from models.hand.layer import HandLayer
    from models.seqhand.checkpoint import load_checkpoint
    from models.seqhand.synthetic import synthetic_batches

    model = Path(model)
    if model.suffix == ".onnx":
        if not model.is_file():
            raise FileNotFoundError(f"model {model} does not exist")
        predict, size = onnx_predictor(model)
    else:
        net, _ = load_checkpoint(model)
        predict, size = (lambda images, heatmaps: net(images, heatmaps=heatmaps)[0]), net.options.input_size
    sigma = _heatmap_sigma(model)
    keypoints = None
    if sigma is not None:
        from models.seqhand.keypoint_inputs import KeypointInputOptions

        keypoints = KeypointInputOptions(sigma=sigma, blank_rgb=0.0, randomise_rgb=False)
    batches = synthetic_batches(size, batch_size, length, seed=seed, max_tilt_deg=max_tilt_deg, scale=scale,
                                keypoints=keypoints)
    return evaluate_batches(predict, size, HandLayer(), islice(batches, -(-sequences // batch_size)))
