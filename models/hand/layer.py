"""The hand model as a differentiable torch layer: `smplx.MANO` plus fingertips, in the 21-keypoint order.

Training losses (joints, vertices, shape regularisers) go through this; the live engine uses the numpy twin
`models.hand.model.HandModel`, which gives the same numbers within 1e-5.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from models.hand.file import read_hand_file
from models.hand.model import load_hand_model
from models.hand.skeleton import MANO_TO_KEYPOINTS


class HandLayer(torch.nn.Module):
    """forward(pose, betas, global_orient) -> (vertices (B, V, 3), joints (B, 21, 3)), metres.

    pose is (B, 10) PCA coefficients (θ = coeffs @ hands_components[:10] + hands_mean, smplx's default) or (B, 45)
    absolute axis-angle (flat hand = zeros); the same model file and side rules as `load_hand_model`.
    """

    def __init__(self, path: str | Path | None = None, side: str = "right", num_pca: int = 10) -> None:
        super().__init__()
        import smplx
        from smplx.utils import Struct

        # Resolve and mirror exactly like the numpy model, then hand smplx the arrays (it accepts a data_struct),
        # so smplx never needs a specially named file and the open model's left hand is its mirror image.
        numpy_model = load_hand_model(path, side=side)
        arrays = {
            "v_template": numpy_model.v_template,
            "f": numpy_model.faces,
            "J_regressor": numpy_model.J_regressor,
            "kintree_table": np.stack([numpy_model.parents, np.arange(16)]),
            "weights": numpy_model.weights,
            "posedirs": numpy_model.posedirs,
            "shapedirs": numpy_model.shapedirs,
            "hands_components": numpy_model.hands_components,
            "hands_mean": numpy_model.hands_mean,
        }
        self.mano = smplx.MANO(
            model_path=str(numpy_model.path), data_struct=Struct(**arrays), is_rhand=side == "right",
            use_pca=False, flat_hand_mean=True, num_betas=numpy_model.num_betas,
            create_global_orient=False, create_hand_pose=False, create_betas=False, create_transl=False,
        )
        self.name = numpy_model.name
        self.side = side
        self.num_pca = num_pca
        self.num_betas = numpy_model.num_betas
        self.register_buffer("hands_components", torch.tensor(numpy_model.hands_components, dtype=torch.float32))
        self.register_buffer("hands_mean", torch.tensor(numpy_model.hands_mean, dtype=torch.float32))
        self.register_buffer("fingertip_ids", torch.tensor(numpy_model.fingertip_ids, dtype=torch.long))
        self.register_buffer("keypoint_order", torch.tensor(MANO_TO_KEYPOINTS, dtype=torch.long))

    @property
    def faces(self) -> np.ndarray:
        return np.asarray(self.mano.faces, dtype=np.int32)

    def forward(self, pose: torch.Tensor, betas: torch.Tensor | None = None,
                global_orient: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        b = pose.shape[0]
        if pose.shape[1] != 45:
            pose = pose @ self.hands_components[: pose.shape[1]] + self.hands_mean
        if betas is None:
            betas = pose.new_zeros(b, self.num_betas)
        if global_orient is None:
            global_orient = pose.new_zeros(b, 3)
        out = self.mano(betas=betas, global_orient=global_orient, hand_pose=pose)
        verts = out.vertices
        joints = torch.cat([out.joints, verts[:, self.fingertip_ids]], dim=1)[:, self.keypoint_order]
        return verts, joints


def smplx_accepts(path: str | Path) -> bool:
    """True when `smplx.MANO` loads the file unchanged (the check behind 'it is a drop-in MANO file')."""
    import smplx

    read_hand_file(Path(path))  # our checks first, for a readable error
    smplx.MANO(model_path=str(path), use_pca=True, num_pca_comps=10)
    return True
