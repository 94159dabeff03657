"""The lifter's training objective: the SeqHAND-Net terms that need no image, on every frame.

3-D joints root-relative in camera axes (per-joint distance in cm), 2-D landmarks through the predicted
weak-perspective camera (box coordinates, x10 like SeqHAND-Net's λ2D/λ3D balance), pose θ and global rotation
against the truth (what makes the finger states right when the landmarks alone are ambiguous), β weakly,
and the frame-to-frame change of the joints against the truth's (steadiness without lag).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from models.lifter.data import LifterBatch
from models.lifter.network import NUM_BETAS, POSE_DIMS


@dataclass
class LifterLossWeights:
    joints_3d: float = 1.0
    joints_2d: float = 10.0
    pose: float = 1.0
    rotation: float = 1.0
    shape: float = 0.01
    velocity: float = 0.5


def posed_joints(chain, params: torch.Tensor, rotation: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, 61) params and (B, T, 3, 3) rotations -> joints in camera axes about the model origin (the
    engine's weak-perspective frame) and the same joints relative to the wrist, (B, T, 21, 3) metres each."""
    b, t = params.shape[:2]
    theta = params[..., :POSE_DIMS].reshape(b * t, POSE_DIMS)
    beta = params[..., POSE_DIMS:POSE_DIMS + NUM_BETAS].reshape(b * t, NUM_BETAS)
    joints = chain(theta, beta, theta.new_zeros(b * t, 3)).reshape(b, t, 21, 3)
    turned = joints @ rotation.transpose(-1, -2)
    return turned, turned - turned[:, :, :1]


def lifter_loss(chain, params: torch.Tensor, rotation: torch.Tensor, batch: LifterBatch,
                w: LifterLossWeights = LifterLossWeights()) -> tuple[torch.Tensor, dict[str, float]]:
    turned, rel = posed_joints(chain, params, rotation)
    k = POSE_DIMS + NUM_BETAS
    uv = params[..., k:k + 1, None] * turned[..., :2] + params[..., None, k + 1:k + 3]
    terms = {
        "joints_3d": (rel - batch.joints).norm(dim=-1).mean() * 100.0,
        "joints_2d": (uv - batch.uv).norm(dim=-1).mean(),
        "pose": ((params[..., :POSE_DIMS] - batch.theta) ** 2).mean(),
        "rotation": ((rotation - batch.rotation) ** 2).sum((-1, -2)).mean(),
        "shape": ((params[..., POSE_DIMS:k] - batch.beta[:, None]) ** 2).mean(),
        "velocity": ((rel[:, 1:] - rel[:, :-1]) - (batch.joints[:, 1:] - batch.joints[:, :-1])).norm(dim=-1).mean()
        * 100.0,
    }
    total = sum(getattr(w, name) * value for name, value in terms.items())
    return total, {name: float(value.detach()) for name, value in terms.items()}
