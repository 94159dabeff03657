"""Convolutional towers shared by the three CADSTN networks (CADSTN.caffe layout: pool 4, 2, 2)."""
from __future__ import annotations

import torch
from torch import nn

POOLS = (4, 2, 2)  # the towers shrink the crop by 16 (128 → 8)


class DepthTower(nn.Module):
    """conv3×3 → ReLU → max-pool, three times (widths `channels`, pools 4, 2, 2)."""

    def __init__(self, in_channels: int, channels: list[int]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width, pool in zip(channels, POOLS):
            layers += [nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(pool)]
            in_channels = width
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.body(x), 1)


class VolumeTower(nn.Module):
    """The sliced-volume branch: conv3×3 + conv1×1 (each with ReLU) per stage, then the same pools."""

    def __init__(self, in_channels: int, channels: list[int]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width, pool in zip(channels, POOLS):
            layers += [nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(inplace=True),
                       nn.Conv2d(width, width, 1), nn.ReLU(inplace=True), nn.MaxPool2d(pool)]
            in_channels = width
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.body(x), 1)


def tower_features(crop_size: int, channels: list[int]) -> int:
    """Length of a tower's flattened output."""
    return channels[-1] * (crop_size // 16) ** 2
