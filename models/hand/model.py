"""The hand model in numpy (no torch): load our open model or the licensed MANO, and pose it.

The live engine and the synthetic-data generator run this; `models.hand.layer.HandLayer` is the differentiable
torch twin (through smplx) and the two agree within 1e-5.

Conventions (the MANO ones, so the licensed model is a drop-in):
- pose (B, 10): PCA coefficients, θ = coeffs @ hands_components[:10] + hands_mean (smplx's default,
  `flat_hand_mean=False`); pose (B, 45): absolute axis-angle of the 15 finger joints, flat hand = zeros.
- betas (B, 10), global_orient (B, 3) axis-angle about the wrist joint, transl (B, 3); all outputs in metres.
- joints are the 21 MediaPipe keypoints (0 wrist; 1-4 thumb; 5-8 index; 9-12 middle; 13-16 ring; 17-20 pinky),
  the tips being mesh vertices (`fingertip_ids`).
- Left hands mirror x -> -x: the left model is the right one with vertices mirrored (and faces re-wound), and a
  left pose is the mirrored right pose: every axis-angle (x, y, z) -> (x, -y, -z), transl (x, y, z) -> (-x, y, z).
  So left.forward(mirror_pose(p), β, mirror_pose(g), mirror_points(t)) == mirror_points(right.forward(p, β, g, t)).
  The licensed MANO ships its own MANO_LEFT.pkl, which is used as is.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.hand.file import read_hand_file
from models.hand.skeleton import MANO_FINGERTIP_IDS, MANO_TO_KEYPOINTS
from models.shipped import shipped_file

OPEN_MODEL_PATH = shipped_file("handstream_hand_right.pkl")
MANO_DIR_ENV = "HANDSTREAM_MANO_DIR"
SIDES = ("right", "left")
_MIRROR = np.array([-1.0, 1.0, 1.0])


@dataclass
class HandOutput:
    """vertices (B, V, 3) (None when not asked for) and joints (B, 21, 3) in metres."""

    vertices: np.ndarray | None
    joints: np.ndarray


def mirror_pose(pose: np.ndarray) -> np.ndarray:
    """Mirror axis-angle rotations (..., 3k) across the x = 0 plane: (x, y, z) -> (x, -y, -z) per joint."""
    pose = np.asarray(pose, dtype=np.float64)
    if pose.shape[-1] % 3:
        raise ValueError(f"mirror_pose: last dimension must be a multiple of 3, got {pose.shape[-1]}")
    out = pose.reshape(*pose.shape[:-1], -1, 3) * np.array([1.0, -1.0, -1.0])
    return out.reshape(pose.shape)


def mirror_points(points: np.ndarray) -> np.ndarray:
    """Mirror points (..., 3) across the x = 0 plane."""
    return np.asarray(points, dtype=np.float64) * _MIRROR


def rodrigues(rotvecs: np.ndarray) -> np.ndarray:
    """(..., 3) axis-angle -> (..., 3, 3) rotation matrices."""
    angle = np.linalg.norm(rotvecs, axis=-1, keepdims=True)
    axis = rotvecs / np.maximum(angle, 1e-12)
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(x)
    k = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=-1).reshape(*rotvecs.shape[:-1], 3, 3)
    s = np.sin(angle)[..., None]
    c = np.cos(angle)[..., None]
    return np.eye(3) + s * k + (1.0 - c) * (k @ k)


def chain_transforms(parents: np.ndarray, rots: np.ndarray, rest_joints: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per joint the world rotation (B, J, 3, 3) and position (B, J, 3), chained from the wrist, and the skinning
    translation (B, J, 3) that takes a rest point x to world_r @ x + skin_t (the rest position removed)."""
    b = rots.shape[0]
    world_r = np.empty_like(rots)
    world_t = np.empty((b, len(parents), 3))
    world_r[:, 0] = rots[:, 0]
    world_t[:, 0] = rest_joints[:, 0]
    for joints, parent in _tree_levels(tuple(int(p) for p in parents)):  # a level's joints at once (the live path)
        world_r[:, joints] = world_r[:, parent] @ rots[:, joints]
        bones = (rest_joints[:, joints] - rest_joints[:, parent])[..., None]
        world_t[:, joints] = world_t[:, parent] + (world_r[:, parent] @ bones)[..., 0]
    skin_t = world_t - (world_r @ rest_joints[..., None])[..., 0]
    return world_r, world_t, skin_t


@functools.lru_cache(maxsize=8)
def _tree_levels(parents: tuple[int, ...]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The joints below the root by depth in the tree, each level's (joints, their parents): a level's transforms
    depend only on the level above, so they chain in one matrix product each (3 for a hand, not 15)."""
    depth = [0] * len(parents)
    for j in range(1, len(parents)):
        depth[j] = depth[parents[j]] + 1
    levels = []
    for d in range(1, max(depth, default=0) + 1):
        joints = np.array([j for j in range(1, len(parents)) if depth[j] == d])
        levels.append((joints, np.array([parents[j] for j in joints])))
    return levels


class HandModel:
    """A MANO-format hand model: arrays from the file plus a linear-blend-skinning forward pass.

    Treat the arrays as read-only: `forward` uses matrix forms of the blend shapes prepared at construction.
    """

    def __init__(self, arrays: dict[str, np.ndarray], *, name: str, path: Path | None, side: str = "right") -> None:
        self.name = name
        self.path = path
        self.side = side
        self.v_template = np.asarray(arrays["v_template"], dtype=np.float64)
        self.faces = np.asarray(arrays["f"], dtype=np.int32)
        self.J_regressor = np.asarray(arrays["J_regressor"], dtype=np.float64)
        self.weights = np.asarray(arrays["weights"], dtype=np.float64)
        self.posedirs = np.asarray(arrays["posedirs"], dtype=np.float64)
        self.shapedirs = np.asarray(arrays["shapedirs"], dtype=np.float64)
        self.hands_components = np.asarray(arrays["hands_components"], dtype=np.float64)
        self.hands_mean = np.asarray(arrays["hands_mean"], dtype=np.float64)
        parents = np.asarray(arrays["kintree_table"])[0].astype(np.int64)
        parents[0] = -1
        self.parents = parents
        tips = arrays.get("fingertip_ids")
        self.fingertip_ids = np.asarray(MANO_FINGERTIP_IDS if tips is None else tips, dtype=np.int64)
        if self.fingertip_ids.max() >= self.num_vertices:
            raise ValueError(f"{path}: fingertip_ids point beyond the {self.num_vertices} vertices; "
                             "store `fingertip_ids` in the file")
        self._has_posedirs = bool(np.any(self.posedirs))
        # The blend shapes as matrices, so shaping and posing are single matrix products.
        self._shape_basis = np.ascontiguousarray(self.shapedirs.transpose(2, 0, 1).reshape(self.num_betas, -1))
        self._pose_basis = np.ascontiguousarray(self.posedirs.reshape(-1, self.posedirs.shape[2]).T)
        # the fingertips' columns of the pose basis: joints alone need only these five vertices posed
        tips = self.posedirs[self.fingertip_ids]
        self._tip_pose_basis = np.ascontiguousarray(tips.reshape(-1, tips.shape[2]).T)
        # joints alone need the shaped rest joints and fingertips only: the regressor applied to the template and
        # the shape basis once here, so a pose without the mesh never shapes (or reads) all the vertices
        shape_basis = self._shape_basis.reshape(self.num_betas, self.num_vertices, 3)
        self._joint_template = self.J_regressor @ self.v_template
        self._joint_shape_basis = np.ascontiguousarray((self.J_regressor @ shape_basis).reshape(self.num_betas, -1))
        self._tip_template = self.v_template[self.fingertip_ids]
        self._tip_shape_basis = np.ascontiguousarray(shape_basis[:, self.fingertip_ids].reshape(self.num_betas, -1))
        self._tip_weights = self.weights[self.fingertip_ids]
        self._pca_pinv: dict[int, np.ndarray] = {}

    @property
    def num_vertices(self) -> int:
        return int(self.v_template.shape[0])

    @property
    def num_betas(self) -> int:
        return int(self.shapedirs.shape[2])

    def pose_from_pca(self, coeffs: np.ndarray) -> np.ndarray:
        """(B, k) PCA coefficients -> (B, 45) absolute axis-angle."""
        coeffs = np.atleast_2d(np.asarray(coeffs, dtype=np.float64))
        k = coeffs.shape[1]
        if not 1 <= k <= 45:
            raise ValueError(f"pose: expected 1..45 PCA coefficients, got {k}")
        return coeffs @ self.hands_components[:k] + self.hands_mean

    def pca_from_pose(self, pose: np.ndarray, num: int = 10) -> np.ndarray:
        """(B, 45) absolute axis-angle -> (B, num) least-squares PCA coefficients (inverse of `pose_from_pca`)."""
        if num not in self._pca_pinv:
            self._pca_pinv[num] = np.linalg.pinv(self.hands_components[:num])
        pose = np.atleast_2d(np.asarray(pose, dtype=np.float64))
        return (pose - self.hands_mean) @ self._pca_pinv[num]

    def forward(self, pose: np.ndarray, betas: np.ndarray | None = None, global_orient: np.ndarray | None = None,
                transl: np.ndarray | None = None, vertices: bool = True) -> HandOutput:
        """Pose the hand; see the module docstring for the conventions. Inputs may be unbatched (1-D).
        ``vertices=False`` poses only the joints and the five fingertip vertices (the same joints, ~3x faster)."""
        pose = np.atleast_2d(np.asarray(pose, dtype=np.float64))
        b = pose.shape[0]
        theta = pose if pose.shape[1] == 45 else self.pose_from_pca(pose)
        betas = np.zeros((b, self.num_betas)) if betas is None else np.atleast_2d(np.asarray(betas, np.float64))
        glob = np.zeros((b, 3)) if global_orient is None else np.atleast_2d(np.asarray(global_orient, np.float64))
        if betas.shape[1] > self.num_betas or betas.shape[0] != b or glob.shape != (b, 3):
            raise ValueError(f"forward: batch/shape mismatch (pose {pose.shape}, betas {betas.shape}, "
                             f"global_orient {glob.shape}); up to {self.num_betas} betas")
        nb = betas.shape[1]
        if vertices:
            n, weights = self.num_vertices, self.weights
            v_shaped = self.v_template + (betas @ self._shape_basis[:nb]).reshape(b, n, 3)
            rest_joints = self.J_regressor @ v_shaped  # (B, 16, 3)
        else:  # only the joints and the fingertips, shaped straight from their own bases
            n, weights = len(self.fingertip_ids), self._tip_weights
            v_shaped = self._tip_template + (betas @ self._tip_shape_basis[:nb]).reshape(b, n, 3)
            rest_joints = self._joint_template + (betas @ self._joint_shape_basis[:nb]).reshape(b, 16, 3)
        rots = rodrigues(np.concatenate([glob, theta], axis=1).reshape(b, 16, 3))
        if self._has_posedirs:
            feature = (rots[:, 1:] - np.eye(3)).reshape(b, -1)
            basis = self._pose_basis if vertices else self._tip_pose_basis
            v_shaped = v_shaped + (feature @ basis).reshape(b, n, 3)
        world_r, world_t, skin_t = chain_transforms(self.parents, rots, rest_joints)
        # Blend the 16 affine transforms per vertex with one matrix product: (V, 16) @ (B, 16, 12).
        blended = weights @ np.concatenate([world_r.reshape(b, 16, 9), skin_t], axis=2)  # (B, V, 12)
        rot = blended[..., :9].reshape(b, n, 3, 3)
        verts = (rot @ v_shaped[..., None])[..., 0] + blended[..., 9:]
        tips = verts[:, self.fingertip_ids] if vertices else verts
        joints = np.concatenate([world_t, tips], axis=1)[:, MANO_TO_KEYPOINTS]
        if transl is not None:
            t = np.atleast_2d(np.asarray(transl, dtype=np.float64))[:, None, :]
            verts = verts + t
            joints = joints + t
        return HandOutput(vertices=verts if vertices else None, joints=joints)

    def bone_transforms(self, pose: np.ndarray, betas: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Skinning transforms of the 16 bones (rotations (B, 16, 3, 3), translations (B, 16, 3)): a rest point x
        carried rigidly by bone j lands at R_j x + t_j (no global rotation or translation)."""
        pose = np.atleast_2d(np.asarray(pose, dtype=np.float64))
        b = pose.shape[0]
        theta = pose if pose.shape[1] == 45 else self.pose_from_pca(pose)
        v_shaped = self.v_template[None]
        if betas is not None:
            betas = np.atleast_2d(np.asarray(betas, np.float64))
            v_shaped = v_shaped + (betas @ self._shape_basis[:betas.shape[1]]).reshape(-1, self.num_vertices, 3)
        rest_joints = np.broadcast_to(self.J_regressor @ v_shaped, (b, 16, 3))
        rots = rodrigues(np.concatenate([np.zeros((b, 3)), theta], axis=1).reshape(b, 16, 3))
        world_r, _, skin_t = chain_transforms(self.parents, rots, rest_joints)
        return world_r, skin_t

    def mirrored(self) -> HandModel:
        """The other hand: mirrored across x = 0 (see the module docstring); mirroring twice gives this model back."""
        sign = np.array([-1.0, 1.0, 1.0])
        # Pose blend shapes are driven by (R - I) entries; mirroring maps R to M R M, entry (i, j) gets m_i m_j.
        feature_sign = np.tile(np.outer(sign, sign).ravel(), 15)
        arrays = {
            "v_template": self.v_template * sign,
            "f": self.faces[:, ::-1].copy(),
            "J_regressor": self.J_regressor,
            "kintree_table": np.stack([self.parents, np.arange(len(self.parents))]),
            "weights": self.weights,
            "posedirs": self.posedirs * sign[None, :, None] * feature_sign[None, None, :],
            "shapedirs": self.shapedirs * sign[None, :, None],
            "hands_components": mirror_pose(self.hands_components),
            "hands_mean": mirror_pose(self.hands_mean),
            "fingertip_ids": self.fingertip_ids,
        }
        other = "left" if self.side == "right" else "right"
        name = self.name.replace(f"({self.side})", f"({other})") if f"({self.side})" in self.name \
            else f"{self.name} mirrored"
        return HandModel(arrays, name=name, path=self.path, side=other)


def resolve_hand_model_path(side: str = "right") -> Path:
    """Which file `load_hand_model(side=...)` reads: the licensed MANO when HANDSTREAM_MANO_DIR is set, else ours.

    For the open model both sides come from the right-hand file (the left is its mirror image).
    """
    if side not in SIDES:
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    mano_dir = os.environ.get(MANO_DIR_ENV)
    if mano_dir:
        folder = Path(mano_dir).expanduser()
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: {MANO_DIR_ENV} / --mano-dir is not a folder")
        path = folder / f"MANO_{side.upper()}.pkl"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: not found; {MANO_DIR_ENV} / --mano-dir must hold MANO_RIGHT.pkl "
                                    "and MANO_LEFT.pkl (converted with `handstream convert-mano`)")
        return path
    return OPEN_MODEL_PATH


def load_hand_model(path: str | Path | None = None, side: str = "right") -> HandModel:
    """Load a hand model; default: the licensed MANO from HANDSTREAM_MANO_DIR if set, else our open model.

    An explicit `path` is read as the given side as is (a MANO_LEFT.pkl is already a left hand).
    """
    if side not in SIDES:
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    if path is not None:
        path = Path(path)
        arrays = read_hand_file(path)
        return HandModel(arrays, name=str(arrays.get("model_name", path.stem)), path=path, side=side)
    path = resolve_hand_model_path(side)
    if path == OPEN_MODEL_PATH:
        arrays = read_hand_file(path)
        model = HandModel(arrays, name=str(arrays.get("model_name", "handstream open hand (right)")), path=path)
        return model if side == "right" else model.mirrored()
    arrays = read_hand_file(path)
    return HandModel(arrays, name=f"MANO ({side})", path=path, side=side)
