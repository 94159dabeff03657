"""CADSTN fusion network (paper Fig. 5, Eq. 6) and the assembled model.

The gate predicts w ∈ (0, 1)^{3K}; J = w ⊙ J_temp + (1 − w) ⊙ J_spa. `gate = "tower"` gives the gate
its own small conv tower on the depth crop (the paper); `gate = "shared"` reads the spatial φ2 and
temporal [h, φ] features the other two networks already computed, which costs one small linear layer.
With `gate_aux` the gate also mixes the spatial network's two auxiliary predictions (depth tower alone,
volume tower alone — trained anyway; at run time each tower's two FC layers run once more, one inference
~20 % slower on a CPU): a softmax per coordinate over the four predictors (temporal, spatial, depth alone,
volume alone) instead of the sigmoid over two.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from models.cadstn.config import ModelOptions
from models.cadstn.spatial import SpatialNet, SpatialOutput
from models.cadstn.temporal import State, TemporalNet
from models.cadstn.towers import DepthTower, tower_features


class FusionGate(nn.Module):
    def __init__(self, options: ModelOptions, temporal_features: int) -> None:
        super().__init__()
        self.options = options
        # temporal and spatial (+ depth alone, volume alone); two: one sigmoid weight per coordinate (the paper)
        self.count = 4 if options.gate_aux else 2
        k3 = 3 * options.joints * (1 if self.count == 2 else self.count)
        if options.gate == "tower":
            self.tower = DepthTower(1, options.gate_channels)
            self.fc = nn.Linear(tower_features(options.crop_size, options.gate_channels), options.gate_fc)
            self.out = nn.Linear(options.gate_fc, k3)
        else:
            self.out = nn.Linear(options.fc + temporal_features, k3)

    def forward(self, depth: torch.Tensor, spatial_feature: torch.Tensor,
                temporal_feature: torch.Tensor) -> torch.Tensor:
        """→ weights (B, P, K, 3) of the P predictors (temporal first; see `predictions`), summing to 1."""
        if self.options.gate == "tower":
            x = torch.relu(self.fc(self.tower(depth[:, :1])))
        else:
            x = torch.cat([spatial_feature, temporal_feature], dim=1)
        k = self.options.joints
        if self.count == 2:
            w = torch.sigmoid(self.out(x)).view(-1, k, 3)
            return torch.stack([w, 1.0 - w], dim=1)
        return torch.softmax(self.out(x).view(-1, self.count, k, 3), dim=1)


def predictions(temporal: torch.Tensor, spatial: SpatialOutput) -> torch.Tensor:
    """The predictors a gate mixes, stacked (B, P, K, 3): temporal, spatial, and with the auxiliary
    paths computed (`gate_aux`) depth alone and volume alone."""
    parts = [temporal, spatial.joints]
    if spatial.aux_depth is not None:
        parts += [spatial.aux_depth, spatial.aux_volume]
    return torch.stack(parts, dim=1)


def fuse(gate: FusionGate, depth: torch.Tensor, spatial: SpatialOutput, temporal: torch.Tensor,
         temporal_feature: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames (N, …) → fused joints (N, K, 3) and the weights (N, P, K, 3); in float32."""
    w = gate(depth, spatial.feature, temporal_feature).float()
    return (w * predictions(temporal, spatial).float()).sum(1), w


@dataclass
class CadstnOutput:
    spatial: torch.Tensor  # (B, T, K, 3)
    temporal: torch.Tensor
    fused: torch.Tensor
    weight: torch.Tensor  # w of the temporal prediction (B, T, K, 3)


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
        spa = self.spatial(depth, aux=self.options.gate_aux)
        temp, feature, state = self.temporal.step(depth, state)
        fused, w = fuse(self.gate, depth, spa, temp, feature)
        out = CadstnOutput(spa.joints[:, None], temp[:, None], fused[:, None], w[:, None, 0])
        return out, state

    def forward(self, depth: torch.Tensor, state: State | None = None) -> tuple[CadstnOutput, State]:
        """A sequence (B, T, 1, M, M) → every prediction (B, T, K, 3) and the final state."""
        b, t = depth.shape[:2]
        flat = depth.reshape(b * t, *depth.shape[2:])
        spa = self.spatial(flat, aux=self.options.gate_aux)
        temp, features, state = self.temporal(depth, state)
        k = self.options.joints
        fused, w = fuse(self.gate, flat, spa, temp.reshape(b * t, k, 3), features.reshape(b * t, -1))
        return CadstnOutput(spa.joints.view(b, t, k, 3), temp, fused.view(b, t, k, 3),
                            w[:, 0].reshape(b, t, k, 3)), state


class StreamingCadstn(nn.Module):
    """The exported graph: depth (1, 1, M, M), h, c → fused joints (1, K, 3), h_out, c_out."""

    def __init__(self, model: Cadstn) -> None:
        super().__init__()
        self.model = model

    def forward(self, depth: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        out, (h2, c2) = self.model.step(depth, (h, c))
        return out.fused[:, 0], h2, c2


class StreamingRgbdCadstn(StreamingCadstn):
    """The exported graph of an RGB-D model: depth (1, 1, M, M), heatmaps (1, 21, M, M), h, c → the same."""

    def forward(self, depth: torch.Tensor, heatmaps: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        return super().forward(torch.cat([depth, heatmaps], dim=1), h, c)
