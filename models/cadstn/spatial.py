"""CADSTN spatial network: depth crop + sliced volume, deeply fused (paper Fig. 3, Eq. 2).

φ0 = mean(depth tower, volume tower); φm = mean(H_m^depth(φm−1), H_m^3D(φm−1)) for m = 1, 2, each H a
fully connected layer with ReLU and dropout; a linear layer regresses 3K values. In training two
auxiliary paths run each tower alone through the *same* H layers of its branch, with their own
regressors, giving the paper's three losses; at inference they are skipped.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from models.cadstn.config import ModelOptions
from models.cadstn.towers import DepthTower, VolumeTower, tower_features
from models.cadstn.volume import sliced_volume


@dataclass
class SpatialOutput:
    joints: torch.Tensor  # (B, K, 3) crop-normalised
    feature: torch.Tensor  # (B, fc) φ2, reused by a shared fusion gate
    aux_depth: torch.Tensor | None = None  # (B, K, 3) training only
    aux_volume: torch.Tensor | None = None


class SpatialNet(nn.Module):
    def __init__(self, options: ModelOptions) -> None:
        super().__init__()
        self.options = options
        k, fc = options.joints, options.fc
        n = tower_features(options.crop_size, options.channels)
        self.depth_tower = DepthTower(options.in_channels, options.channels, options.convs_per_stage,
                                      options.batch_norm)
        self.volume_tower = VolumeTower(options.slices, options.channels, options.convs_per_stage, options.batch_norm)
        self.h1_depth, self.h1_volume = nn.Linear(n, fc), nn.Linear(n, fc)
        self.h2_depth, self.h2_volume = nn.Linear(fc, fc), nn.Linear(fc, fc)
        self.drop = nn.Dropout(options.dropout_spatial)
        self.out = nn.Linear(fc, 3 * k)
        self.aux_out_depth = nn.Linear(fc, 3 * k)
        self.aux_out_volume = nn.Linear(fc, 3 * k)

    def _h(self, layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
        return self.drop(torch.relu(layer(x)))

    def forward(self, depth: torch.Tensor, volume: torch.Tensor | None = None, aux: bool = False) -> SpatialOutput:
        """depth (B, C, M, M): the crop, then an RGB-D model's keypoint heatmaps; `volume` is computed from
        the crop when not given."""
        if volume is None:
            volume = sliced_volume(depth[:, :1], self.options.slices)
        fd = self.depth_tower(depth)
        fv = self.volume_tower(volume)
        phi = (fd + fv) * 0.5
        phi = (self._h(self.h1_depth, phi) + self._h(self.h1_volume, phi)) * 0.5
        phi = (self._h(self.h2_depth, phi) + self._h(self.h2_volume, phi)) * 0.5
        k = self.options.joints
        result = SpatialOutput(joints=self.out(phi).view(-1, k, 3), feature=phi)
        if aux:
            ad = self._h(self.h2_depth, self._h(self.h1_depth, fd))
            av = self._h(self.h2_volume, self._h(self.h1_volume, fv))
            result.aux_depth = self.aux_out_depth(ad).view(-1, k, 3)
            result.aux_volume = self.aux_out_volume(av).view(-1, k, 3)
        return result
