"""Convolutional towers shared by the three CADSTN networks (CADSTN.caffe layout: pool 4, 2, 2)."""
from __future__ import annotations

import torch
from torch import nn

POOLS = (4, 2, 2)  # the towers shrink the crop by 16 (128 → 8)


def _convs(in_channels: int, width: int, count: int, batch_norm: bool) -> list[nn.Module]:
    """`count` conv3×3 → (BatchNorm) → ReLU; the first one maps in_channels to width."""
    layers: list[nn.Module] = []
    for i in range(count):
        layers.append(nn.Conv2d(in_channels if i == 0 else width, width, 3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(width))
        layers.append(nn.ReLU(inplace=True))
    return layers


class DepthTower(nn.Module):
    """conv3×3 → ReLU → max-pool, three times (widths `channels`, pools 4, 2, 2). `convs_per_stage`
    and `batch_norm` deepen it beyond the paper's one conv per stage (the export folds BatchNorm)."""

    def __init__(self, in_channels: int, channels: list[int], convs_per_stage: int = 1,
                 batch_norm: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width, pool in zip(channels, POOLS):
            layers += _convs(in_channels, width, convs_per_stage, batch_norm) + [nn.MaxPool2d(pool)]
            in_channels = width
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.body(x), 1)


class VolumeTower(nn.Module):
    """The sliced-volume branch: conv3×3 + conv1×1 (each with ReLU) per stage, then the same pools; deepened
    like DepthTower (more conv3×3, BatchNorm) by the same two options."""

    def __init__(self, in_channels: int, channels: list[int], convs_per_stage: int = 1,
                 batch_norm: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width, pool in zip(channels, POOLS):
            layers += _convs(in_channels, width, convs_per_stage, batch_norm)
            layers += [nn.Conv2d(width, width, 1), nn.ReLU(inplace=True), nn.MaxPool2d(pool)]
            in_channels = width
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.body(x), 1)


def tower_features(crop_size: int, channels: list[int]) -> int:
    """Length of a tower's flattened output."""
    return channels[-1] * (crop_size // 16) ** 2
