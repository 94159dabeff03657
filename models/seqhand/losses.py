"""SeqHAND-Net training objectives, paper §4 Eq. 8-15.

Conventions (the paper leaves them open):
- each term is a per-joint (per-vertex, per-frame) norm averaged over joints, frames and the batch;
- 2-D terms are in crop coordinates ([-1, 1] spans the crop); 3-D terms are root-relative (joint 0)
  and measured in decimetres, so a hand is ~2 units long and the paper's weights (lambda_2d = 5,
  lambda_3d = 100) balance each other instead of one term vanishing in metres or exploding in mm;
- a term whose ground truth a dataset lacks (mesh, mask, parameters) is zero, not an error.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from models.seqhand.config import LossWeights
from models.seqhand.network import BETA, THETA, HandGeometry

DECIMETRES_PER_METRE = 10.0
PALM_FROM = (0, 9)  # a palm-centre root (STB) is the midpoint of the wrist and the middle-finger MCP


@dataclass
class LossTargets:
    """Ground truth for a batch of sequences (B,T,...). Only `joints_2d` is required."""

    joints_2d: torch.Tensor  # (B,T,21,2) crop coordinates
    joints_3d: torch.Tensor | None = None  # (B,T,21,3) metres, any origin
    vertices_3d: torch.Tensor | None = None  # (B,T,V,3) metres, same frame as joints_3d
    mask: torch.Tensor | None = None  # (B,T,H,W) 1 inside the hand, over the crop
    params: torch.Tensor | None = None  # (B,T,26) [theta, beta, s, t, r] ground truth
    palm_root: torch.Tensor | None = None  # (B,) bool: joint 0 of the labels is the palm centre (STB)


@dataclass
class LossTerms:
    """The weighted sum that is optimised and its unweighted parts (for the loss log)."""

    total: torch.Tensor
    joint_2d: torch.Tensor
    joint_3d: torch.Tensor
    mesh_3d: torch.Tensor
    mask: torch.Tensor
    temporal: torch.Tensor
    camera: torch.Tensor

    def as_floats(self) -> dict[str, float]:
        return {k: float(v.detach()) for k, v in self.__dict__.items()}


def joint_2d_loss(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Eq. 8, L1 (robust to annotation noise): mean over joints of |dx| + |dy|."""
    return (pred - gt).abs().sum(-1).mean()


def joint_3d_loss(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Eq. 9/10: mean over points of the squared distance, root-relative, in decimetres."""
    return ((pred - gt) * DECIMETRES_PER_METRE).pow(2).sum(-1).mean()


def mask_loss(vertices_2d: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq. 11: share of projected vertices outside the hand mask (outside the crop counts as outside).

    The indicator is read with bilinear sampling so the share has a gradient near the mask's edge.
    vertices_2d (N,V,2) in crop coordinates, mask (N,H,W).
    """
    grid = vertices_2d[:, :, None, :]  # (N,V,1,2), x then y as grid_sample expects
    inside = F.grid_sample(mask[:, None].float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return 1.0 - inside.mean()


def temporal_loss(params: torch.Tensor, lambda_theta: float) -> torch.Tensor:
    """Eq. 12: ||beta_{t-1} - beta_t||^2 + lambda_theta ||theta_{t-1} - theta_t||^2, mean over steps.

    Zero for one-frame sequences (the finetune stage), as there is no previous frame.
    """
    if params.shape[1] < 2:
        return params.new_zeros(())
    d = params[:, 1:] - params[:, :-1]
    return (d[..., BETA].pow(2).sum(-1) + lambda_theta * d[..., THETA].pow(2).sum(-1)).mean()


def camera_loss(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Eq. 13: sum over {theta, beta, r, t, s} of squared L2 errors, mean over frames."""
    return (pred - gt).pow(2).sum(-1).mean()


def with_palm_root(joints: torch.Tensor, palm_root: torch.Tensor | None) -> torch.Tensor:
    """Replace joint 0 by the palm centre for sequences whose labels use it (paper §5, STB)."""
    if palm_root is None or not bool(palm_root.any()):
        return joints
    a, b = PALM_FROM
    palm = 0.5 * (joints[..., a, :] + joints[..., b, :])
    flag = palm_root.view(-1, *([1] * (joints.dim() - 2)))
    root = torch.where(flag, palm, joints[..., 0, :])
    return torch.cat([root[..., None, :], joints[..., 1:, :]], dim=-2)


def seqhand_loss(params: torch.Tensor, pred: HandGeometry, gt: LossTargets, w: LossWeights) -> LossTerms:
    """Eq. 14 (pretraining) / Eq. 15 (finetuning: no parameter ground truth, so no Lcam)."""
    zero = params.new_zeros(())
    joints_2d = with_palm_root(pred.joints_2d, gt.palm_root)
    l2d = joint_2d_loss(joints_2d, gt.joints_2d)
    l3d = lm3d = lmask = lcam = zero
    if gt.joints_3d is not None:
        joints = with_palm_root(pred.joints_3d, gt.palm_root)
        root_pred, root_gt = joints[..., :1, :], gt.joints_3d[..., :1, :]
        l3d = joint_3d_loss(joints - root_pred, gt.joints_3d - root_gt)
        if gt.vertices_3d is not None:
            lm3d = joint_3d_loss(pred.vertices_3d - pred.joints_3d[..., :1, :], gt.vertices_3d - root_gt)
    if gt.mask is not None:
        lmask = mask_loss(pred.vertices_2d.flatten(0, 1), gt.mask.flatten(0, 1))
    if gt.params is not None:
        lcam = camera_loss(params, gt.params)
    ltemp = temporal_loss(params, w.lambda_theta_temp)
    total = (
        w.lambda_2d * l2d + w.lambda_3d * l3d + w.lambda_mesh * lm3d + w.lambda_mask * lmask
        + w.lambda_temp * ltemp + w.lambda_cam * lcam
    )
    return LossTerms(total, l2d, l3d, lm3d, lmask, ltemp, lcam)
