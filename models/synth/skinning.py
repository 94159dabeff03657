"""Fast linear blend skinning of a `HandModel` for the data generator (same result as `HandModel.forward`).

Why a second implementation: generation poses ~1000 vertices per frame thousands of times a second, and
`einsum` over (batch, vertex, joint, 3, 3) costs more than rendering the frame. Here the per-vertex transforms
come from one BLAS matrix product (weights (V, 16) @ transforms (16, 12)) and are applied with plain
element-wise arithmetic. `tests/models/synth/test_skinning.py` holds it equal to `HandModel.forward`.
"""
from __future__ import annotations

import numpy as np

from models.hand.model import HandOutput, rodrigues
from models.hand.skeleton import MANO_TO_KEYPOINTS


class FastSkinning:
    """Precomputed arrays of one hand model; call with θ (B, 45) and β (B, ≤10), no global rotation."""

    def __init__(self, model) -> None:
        self.model = model
        v = model.num_vertices
        self.shapedirs = model.shapedirs.reshape(v * 3, -1)  # (3V, nβ)
        self.posedirs = model.posedirs.reshape(v * 3, -1) if np.any(model.posedirs) else None
        self.j_template = model.J_regressor @ model.v_template  # (16, 3)
        self.j_shapedirs = np.einsum("jv,vck->jck", model.J_regressor, model.shapedirs).reshape(48, -1)
        self.weights_t = np.ascontiguousarray(model.weights.T)  # (16, V)
        self.parents = model.parents
        self.tips = model.fingertip_ids

    def __call__(self, theta: np.ndarray, betas: np.ndarray) -> HandOutput:
        m = self.model
        theta = np.atleast_2d(np.asarray(theta, dtype=np.float64))
        betas = np.atleast_2d(np.asarray(betas, dtype=np.float64))
        b, nb, v = len(theta), betas.shape[1], m.num_vertices
        v_shaped = m.v_template[None] + (betas @ self.shapedirs[:, :nb].T).reshape(b, v, 3)
        rest = self.j_template[None] + (betas @ self.j_shapedirs[:, :nb].T).reshape(b, 16, 3)
        rots = rodrigues(np.concatenate([np.zeros((b, 3)), theta], axis=1).reshape(b, 16, 3))
        if self.posedirs is not None:
            feature = (rots[:, 1:] - np.eye(3)).reshape(b, -1)
            v_shaped = v_shaped + (feature @ self.posedirs.T).reshape(b, v, 3)
        world_r = np.empty_like(rots)
        world_t = np.empty((b, 16, 3))
        world_r[:, 0], world_t[:, 0] = rots[:, 0], rest[:, 0]
        for j in range(1, 16):
            p = self.parents[j]
            world_r[:, j] = world_r[:, p] @ rots[:, j]
            world_t[:, j] = world_t[:, p] + (world_r[:, p] @ (rest[:, j] - rest[:, p])[..., None])[..., 0]
        skin_t = world_t - (world_r @ rest[..., None])[..., 0]
        transforms = np.concatenate([world_r.reshape(b, 16, 9), skin_t], axis=2)  # (b, 16, 12)
        # components-first layout, so every product below runs over contiguous rows of V values
        t = transforms.transpose(0, 2, 1) @ self.weights_t  # (b, 12, V) per-vertex transforms
        vs = v_shaped.transpose(0, 2, 1)  # (b, 3, V)
        x, y, z = vs[:, 0], vs[:, 1], vs[:, 2]
        verts = np.empty((b, v, 3))
        for i in range(3):
            verts[..., i] = t[:, 3 * i] * x + t[:, 3 * i + 1] * y + t[:, 3 * i + 2] * z + t[:, 9 + i]
        joints = np.concatenate([world_t, verts[:, self.tips]], axis=1)[:, MANO_TO_KEYPOINTS]
        return HandOutput(vertices=verts, joints=joints)
