"""Rotations shared by the models: axis-angle to matrix (torch), and the rotation that best maps one point set
onto another (numpy).

`rodrigues` is torch because its callers fit or train through it and need its gradients: the IK's Adam fit
(`models.synth.ik.JointChain`) and SeqHAND-Net's global rotation (`models.seqhand.network.hand_geometry`).
`procrustes` is numpy: it starts the IK from a closed-form alignment and factors the similarity out of the
PA metrics (`models.metrics.procrustes_align`); neither differentiates through it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def rodrigues(r: torch.Tensor) -> torch.Tensor:
    """Axis-angle (..., 3) -> rotation matrix (..., 3, 3), differentiable (torch, any dtype and device).

    Smooth at zero: the angle is sqrt(|r|² + 1e-12), so no division by a zero angle; the error that adds is
    about 1e-13 relative (sin a / a and (1 - cos a) / a² change by ~eps/6), below float32 and float64 noise
    for any rotation a model predicts.
    """
    import torch

    angle = torch.sqrt((r * r).sum(-1, keepdim=True) + 1e-12)
    axis = r / angle
    x, y, z = axis.unbind(-1)
    zero = torch.zeros_like(x)
    k = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).unflatten(-1, (3, 3))
    sin, cos = torch.sin(angle)[..., None], torch.cos(angle)[..., None]
    eye = torch.eye(3, dtype=r.dtype, device=r.device).expand(k.shape)
    return eye + sin * k + (1 - cos) * (k @ k)


def procrustes(src: np.ndarray, dst: np.ndarray, *, scale: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (s, R, t) minimising sum_k |s R src_k + t - dst_k|², for point sets shaped (..., K, D), batched
    over the leading axes (float64 throughout).

    R is always a proper rotation (det +1), never a reflection: a mirrored point set gets the best rotation,
    not a mirror. With ``scale`` the similarity of Umeyama (1991); without it s = 1, the rigid fit of Kabsch.
    A set with all its points in one place gets s = 0 (and t = the mean of ``dst``).
    Returns s (...), R (..., D, D), t (..., D).
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(axis=-2, keepdims=True), dst.mean(axis=-2, keepdims=True)
    p, g = src - mu_s, dst - mu_d
    u, sigma, vt = np.linalg.svd(np.swapaxes(g, -1, -2) @ p)  # cross-covariance, (..., D, D)
    d = np.ones_like(sigma)
    d[..., -1] = np.sign(np.linalg.det(u @ vt))  # a rotation, never a reflection
    rot = u @ (d[..., :, None] * vt)
    if scale:
        var = (p**2).sum(axis=(-1, -2))
        s = (sigma * d).sum(axis=-1) / np.where(var > 0, var, 1.0)
    else:
        s = np.ones(sigma.shape[:-1])
    t = (mu_d - s[..., None, None] * mu_s @ np.swapaxes(rot, -1, -2))[..., 0, :]
    return s, rot, t
