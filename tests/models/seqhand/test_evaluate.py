"""Held-out evaluation: perfect predictions score perfectly, each error shows where it should."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from models.hand.layer import HandLayer
from models.seqhand.checkpoint import save_checkpoint
from models.seqhand.config import ModelOptions
from models.seqhand.evaluate import evaluate_batches, onnx_predictor
from models.seqhand.export import export_onnx
from models.seqhand.network import SeqHandNet


def test_ground_truth_parameters_score_perfectly(synthetic_batch) -> None:
    params = synthetic_batch.targets.params
    result = evaluate_batches(lambda images, heatmaps: params, 64, HandLayer(), [synthetic_batch])
    assert (result.sequences, result.frames) == (2, 8)
    assert result.mean_3d_mm < 0.01 and result.mean_2d_px < 0.01 and result.auc_3d_20_50 == 1.0
    assert result.pa_mean_3d_mm < 0.01 and max(result.with_true_mm.values()) < 0.01
    assert result.rotation_error_deg == pytest.approx(0.0, abs=1e-3) and result.rotation_tilt_deg < 1e-3
    assert result.beta_change == pytest.approx(0.0, abs=1e-6)  # beta is constant per sequence
    assert result.acceleration_error_mm < 0.01
    drifting = params.clone()
    drifting[..., 0] += 0.1 * torch.arange(4.0)  # first pose coefficient drifts by 0.1 per frame
    drifting[..., 10] += 0.2 * torch.arange(4.0) ** 2  # first shape value accelerates
    result = evaluate_batches(lambda images, heatmaps: drifting, 64, HandLayer(), [synthetic_batch])
    assert result.theta_change >= 0.1 - 1e-6 and result.beta_change == pytest.approx((0.2 + 0.6 + 1.0) / 3)
    assert result.acceleration_error_mm > 0.01


def test_scale_error_is_2d_only_and_pose_error_is_3d(synthetic_batch) -> None:
    params = synthetic_batch.targets.params.clone()
    params[..., 20] *= 1.1  # weak-perspective scale 10 % off: 2-D moves, root-relative 3-D does not
    result = evaluate_batches(lambda images, heatmaps: params, 64, HandLayer(), [synthetic_batch])
    assert result.mean_2d_px > 0.3 and result.mean_3d_mm < 0.01
    params = synthetic_batch.targets.params.clone()
    params[..., 23:26] += 0.3  # rotation off
    result = evaluate_batches(lambda images, heatmaps: params, 64, HandLayer(), [synthetic_batch])
    assert result.mean_3d_mm > 5.0 and result.auc_3d_20_50 < 1.0
    # the breakdown names the culprit, and aligning each frame's similarity removes a pure rotation
    assert result.with_true_mm["rotation"] < 0.01 < 5.0 < min(result.with_true_mm["shape"], result.with_true_mm["pose"])
    assert result.pa_mean_3d_mm < 0.01
    truth = _with_rotation(synthetic_batch, [0.0, 0.0, 0.0])
    for axis, tilt, in_plane in [(2, 0.0, 20.0), (0, 20.0, 0.0)]:  # about the optical axis, then an image axis
        turned = [0.0, 0.0, 0.0]
        turned[axis] = math.radians(20.0)
        predicted = _with_rotation(synthetic_batch, turned).targets.params
        result = evaluate_batches(lambda images, heatmaps, p=predicted: p, 64, HandLayer(), [truth])
        assert result.rotation_error_deg == pytest.approx(20.0, abs=1e-3)
        assert (result.rotation_tilt_deg, result.rotation_in_plane_deg) == pytest.approx((tilt, in_plane), abs=1e-3)


def _with_rotation(batch, rotvec: list[float]):
    """`batch` with its true global rotation set to `rotvec` (axis-angle, camera frame)."""
    params = batch.targets.params.clone()
    params[..., 23:26] = torch.tensor(rotvec)
    return type(batch)(batch.images, type(batch.targets)(**{**batch.targets.__dict__, "params": params}))


def test_articulation_error_survives_alignment_and_is_blamed_on_the_pose(synthetic_batch) -> None:
    params = synthetic_batch.targets.params.clone()
    params[..., 0:10] += 1.0  # every pose coefficient off
    result = evaluate_batches(lambda images, heatmaps: params, 64, HandLayer(), [synthetic_batch])
    assert result.pa_mean_3d_mm > 1.0 and result.pa_mean_3d_mm <= result.mean_3d_mm
    assert result.with_true_mm["pose"] < 0.01 < 1.0 < result.with_true_mm["rotation"]


def test_onnx_streaming_scores_like_the_checkpoint(tmp_path: Path, synthetic_batch) -> None:
    torch.manual_seed(0)
    net = SeqHandNet(ModelOptions(backbone="resnet18", width=8, input_size=64, hidden=16, scale_init=7.0)).eval()
    save_checkpoint(tmp_path / "ck.pt", net)
    predict, size = onnx_predictor(export_onnx(tmp_path / "ck.pt", tmp_path / "m.onnx"))
    assert size == 64
    a = evaluate_batches(predict, 64, HandLayer(), [synthetic_batch])
    b = evaluate_batches(lambda images, heatmaps: net(images)[0], 64, HandLayer(), [synthetic_batch])
    assert a.mean_3d_mm == pytest.approx(b.mean_3d_mm, rel=1e-4)
    assert a.mean_2d_px == pytest.approx(b.mean_2d_px, rel=1e-4)
