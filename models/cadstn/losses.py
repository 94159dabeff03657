"""CADSTN losses: the paper's Eq. 1, the L2 norm of the 3K-vector error per frame, averaged."""
from __future__ import annotations

import torch


def pose_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over frames of ‖pred − target‖₂ over all 3K coordinates; any leading shape (…, K, 3).
    Computed in float32 whatever precision the network ran in."""
    diff = (pred.float() - target.float()).flatten(start_dim=-2)
    return torch.sqrt((diff ** 2).sum(-1) + 1e-12).mean()


def spatial_loss(joints: torch.Tensor, aux_depth: torch.Tensor, aux_volume: torch.Tensor,
                 target: torch.Tensor, aux_weight: float = 1.0) -> torch.Tensor:
    """Main path plus the two auxiliary paths (paper Fig. 3: three regression losses)."""
    return pose_loss(joints, target) + aux_weight * (pose_loss(aux_depth, target) + pose_loss(aux_volume, target))
