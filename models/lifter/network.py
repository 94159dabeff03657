"""The lifter network: per-frame MLP encoder, an LSTM across frames, a head to the hand model's parameters.

Output per frame (the streaming contract's `params`, 61 values): pose θ (45, absolute axis-angle, flat hand =
zeros), shape β (10), weak-perspective scale s and translation t (2) in the landmark box's coordinates, and the
global rotation as an axis-angle (3). The rotation is regressed as two columns of its matrix (the continuous
6-D form: any orientation, palm or back, has no seam) and turned into an axis-angle inside the graph, so the
engine reads the same layout as SeqHAND-Net's with a full pose in place of 10 PCA values.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from models.lifter.features import NUM_FEATURES

POSE_DIMS = 45
NUM_BETAS = 10
NUM_PARAMS = POSE_DIMS + NUM_BETAS + 3 + 3  # θ, β, s, t, rotation


@dataclass
class LifterOptions:
    """Sizes: ``width`` of the MLPs, ``hidden`` of the LSTM; ``scale_init`` the scale s a fresh head predicts."""

    width: int = 256
    hidden: int = 256
    scale_init: float = 8.0


def rot6d_to_matrix(x: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3): Gram-Schmidt on two columns."""
    a, b = x[..., :3], x[..., 3:]
    c1 = a / a.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    b = b - (c1 * b).sum(-1, keepdim=True) * c1
    c2 = b / b.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    return torch.stack([c1, c2, torch.cross(c1, c2, dim=-1)], dim=-1)


def matrix_to_rotvec(r: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 3) axis-angle through the quaternion, with only ops ONNX exports.

    Of the four ways to read the quaternion off the matrix, the one with the largest divisor is taken
    (no division by a vanishing component near a half turn).
    """
    m00, m01, m02 = r[..., 0, 0], r[..., 0, 1], r[..., 0, 2]
    m10, m11, m12 = r[..., 1, 0], r[..., 1, 1], r[..., 1, 2]
    m20, m21, m22 = r[..., 2, 0], r[..., 2, 1], r[..., 2, 2]
    q_abs = torch.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22,
                         1 - m00 - m11 + m22], -1).clamp_min(1e-8).sqrt()  # 2|w|, 2|x|, 2|y|, 2|z|
    rows = torch.stack([
        torch.stack([q_abs[..., 0] ** 2, m21 - m12, m02 - m20, m10 - m01], -1),
        torch.stack([m21 - m12, q_abs[..., 1] ** 2, m10 + m01, m02 + m20], -1),
        torch.stack([m02 - m20, m10 + m01, q_abs[..., 2] ** 2, m12 + m21], -1),
        torch.stack([m10 - m01, m20 + m02, m21 + m12, q_abs[..., 3] ** 2], -1),
    ], -2) / (2.0 * q_abs[..., None])
    best = (q_abs >= q_abs.max(-1, keepdim=True).values).float()
    best = best / best.sum(-1, keepdim=True)
    q = (rows * best[..., None]).sum(-2)  # (w, x, y, z), up to sign
    q = q * torch.where(q[..., :1] < 0, -1.0, 1.0)
    v = q[..., 1:]
    n = v.norm(dim=-1, keepdim=True)
    angle = 2.0 * torch.atan2(n, q[..., :1])
    return v * torch.where(n > 1e-6, angle / n.clamp_min(1e-6), 2.0 / q[..., :1].clamp_min(1e-6))


class LifterNet(nn.Module):
    """features (B, T, 126) -> (params (B, T, 61), rotation matrices (B, T, 3, 3)); ``step`` for one frame."""

    def __init__(self, options: LifterOptions = LifterOptions()) -> None:
        super().__init__()
        self.options = options
        w, h = options.width, options.hidden
        self.encoder = nn.Sequential(nn.Linear(NUM_FEATURES, w), nn.GELU(), nn.Linear(w, w), nn.GELU())
        self.lstm = nn.LSTM(w, h, batch_first=True)
        self.head = nn.Sequential(nn.Linear(h + w + NUM_FEATURES, w), nn.GELU(), nn.Linear(w, w), nn.GELU(),
                                  nn.Linear(w, POSE_DIMS + NUM_BETAS + 3 + 6))
        last = self.head[-1]
        nn.init.zeros_(last.weight)
        with torch.no_grad():  # a fresh head: flat hand, mean shape, identity rotation, a typical scale
            last.bias.zero_()
            last.bias[POSE_DIMS + NUM_BETAS] = torch.log(torch.tensor(options.scale_init))
            last.bias[-6:] = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])

    @property
    def state_shape(self) -> tuple[int, int, int]:
        return (1, 1, self.options.hidden)

    def initial_state(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        zero = torch.zeros(1, batch, self.options.hidden)
        return zero, zero.clone()

    def forward(self, features: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        """A whole sequence (B, T, 126) from ``state`` (zeros by default) -> (params, rotations, new state)."""
        e = self.encoder(features)
        out, state = self.lstm(e, state)
        raw = self.head(torch.cat([out, e, features], -1))
        pose, beta = raw[..., :POSE_DIMS], raw[..., POSE_DIMS:POSE_DIMS + NUM_BETAS]
        k = POSE_DIMS + NUM_BETAS
        scale, shift, rot6d = raw[..., k:k + 1].exp(), raw[..., k + 1:k + 3], raw[..., k + 3:]
        rotation = rot6d_to_matrix(rot6d)
        params = torch.cat([pose, beta, scale, shift, matrix_to_rotvec(rotation)], -1)
        return params, rotation, state

    def step(self, features: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        """One frame (B, 126) -> (params (B, 61), new state): what the streaming ONNX graph runs."""
        params, _, state = self.forward(features[:, None], state)
        return params[:, 0], state
