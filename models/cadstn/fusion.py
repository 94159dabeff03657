"""CADSTN fusion network (paper Fig. 5, Eq. 6) and the assembled model.

The gate predicts w ∈ (0, 1)^{3K}; J = w ⊙ J_temp + (1 − w) ⊙ J_spa. `gate = "tower"` gives the gate
its own small conv tower on the depth crop (the paper); `gate = "shared"` reads the spatial φ2 and
temporal [h, φ] features the other two networks already computed, which costs one small linear layer.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from models.cadstn.config import ModelOptions
from models.cadstn.spatial import SpatialNet
from models.cadstn.temporal import State, TemporalNet
from models.cadstn.towers import DepthTower, tower_features


class FusionGate(nn.Module):
    def __init__(self, options: ModelOptions, temporal_features: int) -> None:
        super().__init__()
        self.options = options
        k3 = 3 * options.joints
        if options.gate == "tower":
            self.tower = DepthTower(1, options.gate_channels)
            self.fc = nn.Linear(tower_features(options.crop_size, options.gate_channels), options.gate_fc)
            self.out = nn.Linear(options.gate_fc, k3)
        else:
            self.out = nn.Linear(options.fc + temporal_features, k3)

    def forward(self, depth: torch.Tensor, spatial_feature: torch.Tensor, temporal_feature: torch.Tensor) -> torch.Tensor:
        """→ w (B, K, 3), the weight of the temporal prediction."""
        if self.options.gate == "tower":
            x = torch.relu(self.fc(self.tower(depth)))
        else:
            x = torch.cat([spatial_feature, temporal_feature], dim=1)
        return torch.sigmoid(self.out(x)).view(-1, self.options.joints, 3)


@dataclass
class CadstnOutput:
    spatial: torch.Tensor  # (B, T, K, 3)
    temporal: torch.Tensor
    fused: torch.Tensor
    weight: torch.Tensor  # w of the temporal prediction


class Cadstn(nn.Module):
    """All three networks. Training touches one at a time (train.py); inference runs them together."""

    def __init__(self, options: ModelOptions) -> None:
        super().__init__()
        self.options = options
        self.spatial = SpatialNet(options)
        self.temporal = TemporalNet(options)
        self.gate = FusionGate(options, self.temporal.feature_size)

    def step(self, depth: torch.Tensor, state: State) -> tuple[CadstnOutput, State]:
        """One frame (B, 1, M, M) with LSTM state; outputs have T = 1."""
        spa = self.spatial(depth)
        temp, feature, state = self.temporal.step(depth, state)
        w = self.gate(depth, spa.feature, feature)
        fused = w * temp + (1.0 - w) * spa.joints
        out = CadstnOutput(spa.joints[:, None], temp[:, None], fused[:, None], w[:, None])
        return out, state

    def forward(self, depth: torch.Tensor, state: State | None = None) -> tuple[CadstnOutput, State]:
        """A sequence (B, T, 1, M, M) → every prediction (B, T, K, 3) and the final state."""
        b, t = depth.shape[:2]
        flat = depth.reshape(b * t, *depth.shape[2:])
        spa = self.spatial(flat)
        temp, features, state = self.temporal(depth, state)
        w = self.gate(flat, spa.feature, features.reshape(b * t, -1))
        k = self.options.joints
        spa_j = spa.joints.view(b, t, k, 3)
        w = w.view(b, t, k, 3)
        return CadstnOutput(spa_j, temp, w * temp + (1.0 - w) * spa_j, w), state


class StreamingCadstn(nn.Module):
    """The exported graph: depth (1, 1, M, M), h, c → fused joints (1, K, 3), h_out, c_out."""

    def __init__(self, model: Cadstn) -> None:
        super().__init__()
        self.model = model

    def forward(self, depth: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        out, (h2, c2) = self.model.step(depth, (h, c))
        return out.fused[:, 0], h2, c2
