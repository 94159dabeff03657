"""CADSTN temporal network (paper Fig. 4, Eq. 4–5): conv tower → FC φ → LSTM → dropout → [h, φ] → FC 3K.

`step` is one frame with explicit (h, c) state — what the streaming ONNX model runs; `forward` runs
whole (B, T, …) sequences through the same layers, looping the LSTM cell as `step` does.
"""
from __future__ import annotations

import torch
from torch import nn

from models.cadstn.config import ModelOptions
from models.cadstn.towers import DepthTower, tower_features

State = tuple[torch.Tensor, torch.Tensor]


class TemporalNet(nn.Module):
    def __init__(self, options: ModelOptions) -> None:
        super().__init__()
        self.options = options
        self.tower = DepthTower(options.in_channels, options.channels, options.convs_per_stage, options.batch_norm)
        self.fc = nn.Linear(tower_features(options.crop_size, options.channels), options.fc)
        self.lstm = nn.LSTMCell(options.fc, options.lstm)
        self.drop = nn.Dropout(options.dropout_temporal)
        self.out = nn.Linear(options.lstm + options.fc, 3 * options.joints)

    @property
    def feature_size(self) -> int:
        return self.options.lstm + self.options.fc

    def zero_state(self, batch: int, device: torch.device | None = None) -> State:
        z = torch.zeros(batch, self.options.lstm, device=device)
        return z, z.clone()

    def _phi(self, depth: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc(self.tower(depth)))

    def _head(self, phi: torch.Tensor, state: State) -> tuple[torch.Tensor, torch.Tensor, State]:
        h, c = self.lstm(phi, state)
        feature = torch.cat([self.drop(h), phi], dim=1)
        return self.out(feature).view(-1, self.options.joints, 3), feature, (h, c)

    def step(self, depth: torch.Tensor, state: State) -> tuple[torch.Tensor, torch.Tensor, State]:
        """depth (B, C, M, M) (the crop, then any keypoint heatmaps) → joints (B, K, 3), the [h, φ] feature,
        new state."""
        return self._head(self._phi(depth), state)

    def forward(self, depth: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, torch.Tensor, State]:
        """depth (B, T, C, M, M) → joints (B, T, K, 3), features (B, T, F), final state. The tower runs
        on all B·T frames at once (BatchNorm then sees the whole batch, not B frames per step)."""
        b, t = depth.shape[:2]
        if state is None:
            state = self.zero_state(b, depth.device)
        phi = self._phi(depth.reshape(b * t, *depth.shape[2:])).view(b, t, -1)
        joints, features = [], []
        for i in range(t):
            j, f, state = self._head(phi[:, i], state)
            joints.append(j)
            features.append(f)
        return torch.stack(joints, 1), torch.stack(features, 1), state
