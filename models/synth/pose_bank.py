"""Pose banks: the poses pose-flows may visit, as 45-D θ plus their 21 joints, procedural or from real labels.

Why both θ and joints: flows are planned in joint space (SeqHAND Eq. 6-7 snap to the nearest bank pose by
joint distance) and rendered from θ. Joints are the hand model's at β = 0 with no global rotation, relative to
the wrist, in metres, so poses from any source are comparable. A bank file is a plain `.npz` (`theta`,
`joints`, `fit_error_mm`, `source`) that `gen-data --pose-bank` reads.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.synth.ik import BIGHAND21, ICVL16, NYU14, IKOptions, JointMap, fit_joints

DEFAULT_PROCEDURAL_SIZE = 100_000


@dataclass
class PoseBank:
    theta: np.ndarray  # (N, 45) float32 absolute axis-angle
    joints: np.ndarray  # (N, 21, 3) float32 metres, wrist at the origin, β = 0, no global rotation
    source: str
    fit_error_mm: np.ndarray | None = None  # (N,) IK residual for banks made from real labels

    def __len__(self) -> int:
        return int(self.theta.shape[0])

    @property
    def features(self) -> np.ndarray:
        """(N, 63) flattened joints: the space flows move and snap in."""
        return self.joints.reshape(len(self), -1)

    def save(self, path: Path | str) -> Path:
        path = Path(path)
        if path.suffix != ".npz":
            raise ValueError(f"pose bank file {path} must end in .npz")
        arrays = {"theta": self.theta, "joints": self.joints, "source": np.array(self.source)}
        if self.fit_error_mm is not None:
            arrays["fit_error_mm"] = self.fit_error_mm
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)
        return path


def load_pose_bank(path: Path | str) -> PoseBank:
    """Read a bank written by `PoseBank.save`; one-line errors for missing or malformed files."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pose bank {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as z:
            theta, joints = z["theta"].astype(np.float32), z["joints"].astype(np.float32)
            source = str(z["source"]) if "source" in z else path.stem
            err = z["fit_error_mm"].astype(np.float32) if "fit_error_mm" in z else None
    except (KeyError, ValueError, OSError) as exc:
        raise ValueError(f"pose bank {path} is not a pose-bank .npz (theta, joints): {exc}") from None
    if theta.ndim != 2 or theta.shape[1] != 45 or joints.shape != (len(theta), 21, 3) or len(theta) < 2:
        raise ValueError(f"pose bank {path}: expected theta (N, 45) and joints (N, 21, 3) with N >= 2, "
                         f"got {theta.shape} and {joints.shape}")
    return PoseBank(theta, joints, source, err)


def model_joints(model, theta: np.ndarray) -> np.ndarray:
    """(N, 21, 3) joints of `model` at β = 0, no global rotation — like `model.forward(theta).joints`.

    Why not `forward`: it skins every vertex (~2 ms a pose here), while joints need only the kinematic chain
    and the five fingertip vertices; a 100k-pose bank then takes seconds instead of minutes.
    """
    from models.hand.model import rodrigues
    from models.hand.skeleton import MANO_TO_KEYPOINTS

    theta = np.atleast_2d(np.asarray(theta, dtype=np.float64))
    b = len(theta)
    rest = model.J_regressor @ model.v_template  # (16, 3)
    rots = rodrigues(np.concatenate([np.zeros((b, 3)), theta], axis=1).reshape(b, 16, 3))
    tips_rest = np.broadcast_to(model.v_template[model.fingertip_ids], (b, 5, 3))
    if np.any(model.posedirs):
        feature = (rots[:, 1:] - np.eye(3)).reshape(b, -1)
        tips_rest = tips_rest + np.einsum("bk,vck->bvc", feature, model.posedirs[model.fingertip_ids])
    world_r = np.empty_like(rots)
    world_t = np.empty((b, 16, 3))
    world_r[:, 0], world_t[:, 0] = rots[:, 0], rest[0]
    for j in range(1, 16):
        p = model.parents[j]
        world_r[:, j] = world_r[:, p] @ rots[:, j]
        world_t[:, j] = world_t[:, p] + world_r[:, p] @ (rest[j] - rest[p])
    w = model.weights[model.fingertip_ids]  # (5, 16)
    local = tips_rest[:, :, None, :] - rest[None, None, :, :]  # (B, 5, 16, 3)
    tips = np.einsum("tj,bjik,btjk->bti", w, world_r, local) + np.einsum("tj,bji->bti", w, world_t)
    return np.concatenate([world_t, tips], axis=1)[:, MANO_TO_KEYPOINTS]


def bank_from_theta(theta: np.ndarray, model, source: str, fit_error_mm: np.ndarray | None = None,
                    chunk: int = 8192) -> PoseBank:
    """Complete θ with the model's wrist-relative joints (β = 0, no global rotation)."""
    theta = np.asarray(theta, dtype=np.float64)
    joints = np.concatenate([model_joints(model, theta[i:i + chunk]) for i in range(0, len(theta), chunk)])
    joints = joints - joints[:, :1]
    return PoseBank(theta.astype(np.float32), joints.astype(np.float32), source, fit_error_mm)


def join_banks(banks: list[PoseBank]) -> PoseBank:
    """One bank holding the poses of several (e.g. the procedural prior and real labels through IK), so
    pose-flows pass between them; fit errors are kept when every part has them."""
    if not banks:
        raise ValueError("join_banks needs at least one pose bank")
    errors = [b.fit_error_mm for b in banks]
    return PoseBank(np.concatenate([b.theta for b in banks]), np.concatenate([b.joints for b in banks]),
                    "+".join(b.source for b in banks),
                    None if any(e is None for e in errors) else np.concatenate(errors))


PROCEDURAL_KINDS = ("procedural", "straight-thumb")  # the banks drawn from the prior, not fitted to labels


def procedural_bank(n: int = DEFAULT_PROCEDURAL_SIZE, seed: int = 0, model=None,
                    kind: str = "procedural") -> PoseBank:
    """`n` poses drawn from the anatomical prior (`models.pose_prior`): `kind` "procedural" is the whole prior,
    "straight-thumb" open hands with a straight thumb, from beside the index finger to spread (to join to the other)."""
    from models.hand.model import load_hand_model
    from models.pose_prior import sample_poses, sample_straight_thumb

    if kind not in PROCEDURAL_KINDS:
        raise ValueError(f"unknown procedural pose bank {kind!r}; use {' or '.join(PROCEDURAL_KINDS)}")
    sampler = sample_poses if kind == "procedural" else sample_straight_thumb
    if n < 2:
        raise ValueError(f"a pose bank needs at least 2 poses, got {n}")
    model = load_hand_model() if model is None else model
    theta = sampler(n, np.random.default_rng([seed, 0x5EED]))
    return bank_from_theta(theta, model, f"{kind}:{n}:{seed}")


def read_label_joints(fmt: str, path: Path | str, every: int = 1) -> tuple[np.ndarray, JointMap]:
    """(N, K, 3) joints in mm from a label file, with the format's joint correspondence.

    Formats: `nyu` / `icvl` — A2J-style `.mat` with `keypoints3D` (N, K, 3) as (u, v, depth mm), read by
    `models.datasets.a2j` with the cameras of `models.metrics`; `bighand` —
    `Training_Annotation.txt` (name followed by 21 × xyz mm per line).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{fmt} label file {path} does not exist")
    if fmt == "bighand":
        from models.datasets.bighand import read_bighand_annotations

        return read_bighand_annotations(path, every=every).joints_mm, BIGHAND21
    if fmt not in ("nyu", "icvl"):
        raise ValueError(f"unknown pose-bank format {fmt!r}; use bighand, nyu or icvl")
    from calibration.projection import pixel_to_camera_mm
    from models.datasets.a2j import read_keypoints_uvd
    from models.datasets.icvl import ICVL_CAMERA
    from models.datasets.nyu import NYU_CAMERA

    joint_map = NYU14 if fmt == "nyu" else ICVL16
    uvd = read_keypoints_uvd(path)
    if uvd.shape[1] != joint_map.num_joints:
        raise ValueError(f"{path}: {fmt} labels have {joint_map.num_joints} joints, the file has {uvd.shape[1]}")
    return pixel_to_camera_mm(uvd[::every], NYU_CAMERA if fmt == "nyu" else ICVL_CAMERA), joint_map


def bank_from_labels(fmt: str, path: Path | str, limit: int | None = None, model=None,
                     options: IKOptions = IKOptions(), every: int = 1) -> PoseBank:
    """A real pose bank: every `every`-th label (consecutive frames are near duplicates), at most `limit`,
    -> θ by the batched IK fit; the residual per pose is kept (mm)."""
    from models.hand.model import load_hand_model

    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    joints_mm, joint_map = read_label_joints(fmt, path, every=every)
    if limit is not None:
        joints_mm = joints_mm[:limit]
    if len(joints_mm) < 2:
        raise ValueError(f"{path}: a pose bank needs at least 2 poses, found {len(joints_mm)}")
    model = load_hand_model() if model is None else model
    fit = fit_joints(joints_mm / 1000.0, joint_map, model=model, options=options)
    return bank_from_theta(fit.theta, model, f"{fmt}:{Path(path).name}", fit.error_mm)
