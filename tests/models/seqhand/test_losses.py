"""SeqHAND-Net losses on hand-made inputs whose values are worked out by hand."""
from __future__ import annotations

import pytest
import torch

from models.seqhand.config import LossWeights
from models.seqhand.losses import (
    LossTargets,
    camera_loss,
    joint_2d_loss,
    joint_3d_loss,
    mask_loss,
    seqhand_loss,
    temporal_loss,
    with_palm_root,
)
from models.seqhand.network import HandGeometry


def test_joint_2d_is_l1_per_joint_averaged() -> None:
    gt = torch.zeros(1, 1, 21, 2)
    pred = gt.clone()
    pred[0, 0, 3] = torch.tensor([0.3, -0.4])
    assert joint_2d_loss(pred, gt).item() == pytest.approx(0.7 / 21)


def test_joint_3d_is_squared_distance_in_decimetres() -> None:
    gt = torch.zeros(2, 21, 3)
    pred = gt.clone()
    pred[1, 5] = torch.tensor([0.03, 0.0, 0.04])  # 5 cm = 0.5 dm -> 0.25
    assert joint_3d_loss(pred, gt).item() == pytest.approx(0.25 / 42)


def test_mask_loss_is_share_of_vertices_outside() -> None:
    mask = torch.zeros(1, 8, 8)
    mask[:, :, :4] = 1  # left half is hand
    centre = lambda i: (i + 0.5) / 8 * 2 - 1  # noqa: E731 - pixel centre in crop coordinates
    verts = torch.tensor([[[centre(1), centre(2)], [centre(2), centre(6)], [centre(6), centre(3)], [1.5, 0.0]]])
    # two inside, one on the right half, one outside the crop altogether
    assert mask_loss(verts, mask).item() == pytest.approx(0.5)
    assert mask_loss(verts[:, :2], mask).item() == pytest.approx(0.0)


def test_temporal_loss_weighs_theta_changes_by_lambda() -> None:
    params = torch.zeros(1, 3, 26)
    params[0, 1, 10] = 1.0  # beta jumps by 1 then back: two changes of 1
    params[0, 2, 0] = 2.0  # theta jumps by 2 at the last step
    # steps: (1 beta) + (1 beta + 0.5 * 4 theta) -> mean (1 + 3) / 2
    assert temporal_loss(params, lambda_theta=0.5).item() == pytest.approx(2.0)
    assert temporal_loss(params[:, :1], lambda_theta=0.5).item() == 0.0  # one-frame sequence


def test_camera_loss_sums_squared_parameter_errors() -> None:
    pred, gt = torch.zeros(2, 1, 26), torch.zeros(2, 1, 26)
    pred[0, 0, 20] = 3.0  # scale off by 3
    pred[1, 0, 23:26] = 1.0  # rotation off by (1, 1, 1)
    assert camera_loss(pred, gt).item() == pytest.approx((9 + 3) / 2)


def test_palm_root_replaces_only_flagged_sequences() -> None:
    joints = torch.zeros(2, 1, 21, 3)
    joints[:, :, 9] = torch.tensor([0.0, 0.0, 0.08])
    out = with_palm_root(joints, torch.tensor([True, False]))
    assert torch.allclose(out[0, 0, 0], torch.tensor([0.0, 0.0, 0.04]))
    assert torch.equal(out[1], joints[1])


def _geometry(b: int = 1, t: int = 2, v: int = 5) -> HandGeometry:
    g = torch.Generator().manual_seed(0)
    return HandGeometry(
        joints_3d=torch.randn(b, t, 21, 3, generator=g) * 0.05,
        vertices_3d=torch.randn(b, t, v, 3, generator=g) * 0.05,
        joints_2d=torch.randn(b, t, 21, 2, generator=g) * 0.5,
        vertices_2d=torch.randn(b, t, v, 2, generator=g) * 0.5,
    )


def test_total_is_the_weighted_sum_and_3d_terms_are_root_relative() -> None:
    pred = _geometry()
    params = torch.randn(1, 2, 26)
    shift = torch.tensor([0.3, -0.2, 0.5])  # ground truth in another origin: must not matter
    gt = LossTargets(
        joints_2d=pred.joints_2d + 0.1,
        joints_3d=pred.joints_3d + shift,
        vertices_3d=pred.vertices_3d + shift + 0.01,
        mask=torch.ones(1, 2, 8, 8),
        params=params + 1.0,
    )
    w = LossWeights(lambda_2d=2, lambda_3d=3, lambda_mesh=4, lambda_temp=5, lambda_theta_temp=0.1, lambda_cam=6,
                    lambda_mask=7)
    terms = seqhand_loss(params, pred, gt, w)
    assert terms.joint_2d.item() == pytest.approx(0.2)
    assert terms.joint_3d.item() == pytest.approx(0.0, abs=1e-10)
    assert terms.mesh_3d.item() == pytest.approx(3 * 0.1**2, rel=1e-4)  # 1 cm on each axis, in dm
    assert terms.camera.item() == pytest.approx(26.0)
    expected = 2 * terms.joint_2d + 4 * terms.mesh_3d + 5 * terms.temporal + 6 * terms.camera + 7 * terms.mask
    assert terms.total.item() == pytest.approx(expected.item(), rel=1e-6)


def test_missing_ground_truth_gives_zero_terms() -> None:
    pred = _geometry()
    terms = seqhand_loss(torch.zeros(1, 2, 26), pred, LossTargets(joints_2d=pred.joints_2d), LossWeights())
    assert terms.total.item() == 0.0
    assert all(value == 0.0 for value in terms.as_floats().values())
