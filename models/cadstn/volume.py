"""CADSTN's sliced volume computed from the normalised depth crop inside the network (torch, ONNX-exportable).

Computing it in the graph means the engine feeds only `depth`; the arithmetic mirrors
`models.depth_crop.sliced_volume` (float32, same operation order) so both give identical slices.
"""
from __future__ import annotations

import torch


def sliced_volume(depth: torch.Tensor, slices: int) -> torch.Tensor:
    """(B, 1, M, M) crop in [-1, 1] (+1 = background) → binary (B, L, M, M) float volume."""
    valid = depth < 1.0
    # pixels outside the hand get values beyond [-1, 1] so they never win the min/max
    dmin = torch.where(valid, depth, torch.full_like(depth, 2.0)).amin(dim=(2, 3), keepdim=True)
    dmax = torch.where(valid, depth, torch.full_like(depth, -2.0)).amax(dim=(2, 3), keepdim=True)
    span = torch.clamp(dmax - dmin, min=1e-6)
    index = torch.floor((depth - dmin) / span * float(slices))
    index = torch.clamp(index, 0.0, float(slices - 1))
    levels = torch.arange(slices, dtype=depth.dtype, device=depth.device).view(1, slices, 1, 1)
    return ((index == levels) & valid).to(depth.dtype)
