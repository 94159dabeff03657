"""Metrics: hand-made cases with known answers, and A2J's published NYU/ICVL errors from the real files."""
from __future__ import annotations

import numpy as np
import pytest

from calibration.projection import pixel_to_camera_mm
from models import metrics
from models.datasets import a2j
from models.datasets.icvl import ICVL_CAMERA
from models.datasets.nyu import NYU_CAMERA
from tests.conftest import REPO_ROOT

A2J_DIR = REPO_ROOT.parent / "shared" / "data" / "a2j"
needs_a2j = pytest.mark.skipif(not A2J_DIR.is_dir(), reason=f"A2J release files not found in {A2J_DIR}")


def test_epe_and_per_joint_on_known_offsets():
    gt = np.zeros((4, 3, 3))
    pred = gt.copy()
    pred[:, 0, 0] = 3.0  # joint 0 off by 3
    pred[:, 1, :2] = [3.0, 4.0]  # joint 1 off by 5
    assert metrics.per_joint_error(pred, gt) == pytest.approx([3.0, 5.0, 0.0])
    assert metrics.epe(pred, gt) == pytest.approx(8.0 / 3.0)
    assert metrics.epe(pred[..., :2], gt[..., :2]) == pytest.approx(8.0 / 3.0)


def test_pck_auc_and_worst_joint_success():
    gt = np.zeros((2, 2, 3))
    pred = gt.copy()
    pred[0, 0, 0] = 10.0  # frame 0: joints at 10 and 0 mm
    pred[1, :, 0] = [30.0, 60.0]  # frame 1: joints at 30 and 60 mm
    assert metrics.pck_curve(pred, gt, [0, 10, 30, 60]) == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert metrics.max_error_success(pred, gt, [9, 10, 59, 60]) == pytest.approx([0, 0.5, 0.5, 1.0])
    # all joints within 20 mm except 30 and 60: PCK is 0.5 on [20, 30) and 0.75 on [30, 50]
    assert metrics.pck_auc(pred, gt, 20, 50, steps=3001) == pytest.approx((0.5 * 10 + 0.75 * 20) / 30, abs=1e-3)
    assert metrics.curve_auc(np.array([0.0, 1.0]), np.array([1.0, 1.0])) == 1.0


def test_temporal_measures():
    t = np.arange(6, dtype=float)
    steady = np.stack([t, 2 * t], axis=1)  # constant change of length sqrt(5)
    assert metrics.mean_change(steady) == pytest.approx(np.sqrt(5))
    gt = np.zeros((6, 2, 3))
    shifted = gt + 5.0  # a constant offset has no acceleration error
    assert metrics.acceleration_error(shifted, gt) == pytest.approx(0.0)
    jitter = gt.copy()
    jitter[2, 0, 0] = 1.0  # one spike: second differences 1, -2, 1 on joint 0 at frames 1..3
    assert metrics.acceleration_error(jitter, gt) == pytest.approx(4.0 / 8.0)


def test_procrustes_alignment_removes_a_similarity_and_nothing_else():
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(0)
    gt = rng.normal(0.0, 40.0, (6, 21, 3))
    rot = Rotation.random(6, random_state=1).as_matrix()
    moved = 1.3 * np.einsum("nij,nkj->nki", rot, gt) + rng.normal(0.0, 100.0, (6, 1, 3))
    assert metrics.epe(moved, gt) > 50.0 and metrics.pa_epe(moved, gt) < 1e-9
    mirrored = gt * [1.0, 1.0, -1.0]  # a left hand for a right one: no rotation makes it right
    assert metrics.pa_epe(mirrored, gt) > 10.0
    noisy = moved + rng.normal(0.0, 2.0, moved.shape)
    assert 0.5 < metrics.pa_epe(noisy, gt) < metrics.epe(noisy, gt)


def test_shape_mismatch_is_a_value_error():
    with pytest.raises(ValueError, match="shape"):
        metrics.epe(np.zeros((2, 3, 3)), np.zeros((2, 4, 3)))


@needs_a2j
@pytest.mark.parametrize("name, joints, predictions, intrinsics, published", [
    ("nyu", 14, "nyu_861_epoch32_UVD.txt", NYU_CAMERA, 8.61),
    ("icvl", 16, "icvl_646_epoch12_UVD.txt", ICVL_CAMERA, 6.46),
])
def test_a2j_published_mean_error_is_reproduced(name, joints, predictions, intrinsics, published):
    gt_uvd = a2j.read_keypoints_uvd(A2J_DIR / f"{name}_keypointsUVD_test.mat")
    pred_uvd = a2j.read_predictions_uvd(A2J_DIR / predictions, joints)
    assert gt_uvd.shape == pred_uvd.shape and gt_uvd.shape[1] == joints
    # camera mm, y down (A2J flips y for NYU; a sign flip leaves every distance unchanged)
    gt = pixel_to_camera_mm(gt_uvd, intrinsics)
    pred = pixel_to_camera_mm(pred_uvd, intrinsics)
    report = metrics.pose_report(pred, gt)
    assert round(report.mean_error, 2) == published
    assert report.frames == len(gt_uvd)
    assert report.per_joint.mean() == pytest.approx(report.mean_error)
    assert 0.0 < report.success[20] < report.success[40] <= report.success[80] <= 1.0
    centres = a2j.read_centres_uvd(A2J_DIR / f"{name}_center_test.mat")
    assert centres.shape == (len(gt_uvd), 3)
    # the crop centres sit in the hand: within 100 mm of the ground-truth joints' mean
    offset = pixel_to_camera_mm(centres, intrinsics) - gt.mean(axis=1)
    assert np.median(np.linalg.norm(offset, axis=1)) < 100.0


def test_a2j_prediction_file_with_wrong_width_is_rejected(tmp_path):
    bad = tmp_path / "pred.txt"
    bad.write_text("1 2 3 4 5 6\n")
    with pytest.raises(ValueError, match="expected 42 values"):
        a2j.read_predictions_uvd(bad, 14)
