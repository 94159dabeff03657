"""Hand-pose metrics shared by SeqHAND-Net and CADSTN, numpy only.

The definitions follow the standard NYU/ICVL protocol (Oberweger et al., used by CADSTN §IV-A2 and
A2J): per-joint mean Euclidean error, its mean over joints, and the fraction of frames whose *worst*
joint is within a threshold. PCK/AUC and the temporal measures follow SeqHAND-Net §5.2. All
functions take arrays shaped (..., K, D) with D = 2 or 3, in whatever unit the caller uses (mm or
px); errors come back in that unit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.rotations import procrustes


def _pair(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from ground-truth shape {gt.shape}")
    if pred.ndim < 2 or pred.shape[-1] not in (2, 3):
        raise ValueError(f"joints must be shaped (..., K, 2|3), got {pred.shape}")
    return pred, gt


def joint_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Euclidean distance per joint, shape (..., K)."""
    pred, gt = _pair(pred, gt)
    return np.linalg.norm(pred - gt, axis=-1)


def epe(pred: np.ndarray, gt: np.ndarray) -> float:
    """End-point error: mean joint distance over all frames and joints (2-D or 3-D by the last axis)."""
    return float(joint_errors(pred, gt).mean())


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """`pred` moved onto `gt` by the similarity (scale, rotation, translation) that fits it best, frame by
    frame (Umeyama's least squares, `models.rotations.procrustes`). What is left is the error of the
    articulation alone: the global rotation and the hand's size, which a single RGB view shows least well,
    are factored out."""
    pred, gt = _pair(pred, gt)
    scale, rot, shift = procrustes(pred, gt)
    return scale[..., None, None] * pred @ np.swapaxes(rot, -1, -2) + shift[..., None, :]


def pa_epe(pred: np.ndarray, gt: np.ndarray) -> float:
    """Procrustes-aligned end-point error (PA-MPJPE of the FreiHAND and HO-3D benchmarks)."""
    return epe(procrustes_align(pred, gt), gt)


def per_joint_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Mean error of each joint over all frames, shape (K,) (CADSTN Eq. 7)."""
    err = joint_errors(pred, gt)
    return err.reshape(-1, err.shape[-1]).mean(axis=0)


def pck_curve(pred: np.ndarray, gt: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Fraction of joints (over all frames) within each threshold, shape (len(thresholds),)."""
    err = joint_errors(pred, gt).reshape(-1)
    thresholds = np.asarray(thresholds, dtype=np.float64)
    return (err[None, :] <= thresholds[:, None]).mean(axis=1)


def curve_auc(thresholds: np.ndarray, values: np.ndarray) -> float:
    """Area under a curve normalised by the threshold range, so a perfect curve gives 1."""
    thresholds = np.asarray(thresholds, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if thresholds.ndim != 1 or thresholds.size < 2 or values.shape != thresholds.shape:
        raise ValueError("curve_auc needs at least two thresholds and one value per threshold")
    span = thresholds[-1] - thresholds[0]
    if span <= 0:
        raise ValueError("thresholds must be increasing")
    area = np.sum((values[1:] + values[:-1]) * np.diff(thresholds)) / 2.0
    return float(area / span)


def pck_auc(pred: np.ndarray, gt: np.ndarray, low: float = 20.0, high: float = 50.0, steps: int = 31) -> float:
    """AUC of the PCK curve between `low` and `high` (the usual 3D-PCK AUC over 20–50 mm)."""
    thresholds = np.linspace(low, high, steps)
    return curve_auc(thresholds, pck_curve(pred, gt, thresholds))


def max_error_success(pred: np.ndarray, gt: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Fraction of frames whose worst joint is within each threshold (CADSTN Eq. 9), shape (len(thresholds),)."""
    err = joint_errors(pred, gt)
    worst = err.reshape(-1, err.shape[-1]).max(axis=1)
    thresholds = np.asarray(thresholds, dtype=np.float64)
    return (worst[None, :] <= thresholds[:, None]).mean(axis=1)


def mean_change(values: np.ndarray) -> float:
    """Mean per-frame change ‖x_t − x_{t−1}‖ of a (T, D) parameter sequence (e.g. β or θ), SeqHAND §5.2."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] < 2:
        raise ValueError(f"mean_change needs a (T>=2, D) sequence, got {values.shape}")
    return float(np.linalg.norm(np.diff(values, axis=0), axis=1).mean())


def acceleration_error(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean distance between predicted and true joint accelerations (second differences) over a
    (T, K, D) sequence: it is zero for a prediction that is off by a constant and grows with jitter."""
    pred, gt = _pair(pred, gt)
    if pred.ndim != 3 or pred.shape[0] < 3:
        raise ValueError(f"acceleration_error needs a (T>=3, K, D) sequence, got {pred.shape}")
    acc_pred = pred[2:] - 2 * pred[1:-1] + pred[:-2]
    acc_gt = gt[2:] - 2 * gt[1:-1] + gt[:-2]
    return float(np.linalg.norm(acc_pred - acc_gt, axis=-1).mean())


@dataclass
class PoseReport:
    """The standard 3-D summary of a test set; thresholds/curves are kept for plotting."""

    mean_error: float
    per_joint: np.ndarray
    pck_auc_20_50: float
    success_thresholds: np.ndarray
    success: np.ndarray  # fraction of frames with worst joint ≤ threshold
    frames: int

    def summary(self) -> str:
        at = {int(t): s for t, s in zip(self.success_thresholds, self.success)}
        return (f"{self.frames} frames: mean {self.mean_error:.2f} mm, 3D-PCK AUC(20-50) {self.pck_auc_20_50:.3f}, "
                f"worst joint <=20/40/80 mm: {at.get(20, float('nan')):.3f}/{at.get(40, float('nan')):.3f}/"
                f"{at.get(80, float('nan')):.3f}")


def pose_report(pred_mm: np.ndarray, gt_mm: np.ndarray) -> PoseReport:
    """All 3-D numbers of the NYU/ICVL protocol for (N, K, 3) predictions in mm."""
    thresholds = np.arange(0.0, 81.0, 1.0)
    return PoseReport(
        mean_error=epe(pred_mm, gt_mm),
        per_joint=per_joint_error(pred_mm, gt_mm),
        pck_auc_20_50=pck_auc(pred_mm, gt_mm),
        success_thresholds=thresholds,
        success=max_error_success(pred_mm, gt_mm, thresholds),
        frames=int(np.prod(np.asarray(pred_mm).shape[:-2])),
    )
