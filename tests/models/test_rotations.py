"""Rodrigues and Procrustes against independent computations (scipy's rotations, known transforms)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from models.rotations import procrustes, rodrigues


def test_rodrigues_equals_scipy_including_tiny_zero_and_half_turn_angles():
    rng = np.random.default_rng(0)
    rotvecs = np.concatenate([rng.normal(size=(200, 3)),
                              [[0.0, 0.0, 0.0], [1e-7, -2e-7, 0.0], [np.pi - 1e-6, 0.0, 0.0], [0.0, 0.0, -np.pi]]])
    got = rodrigues(torch.tensor(rotvecs, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(got, Rotation.from_rotvec(rotvecs).as_matrix(), atol=1e-12)
    single = rodrigues(torch.tensor(rotvecs[:6].reshape(2, 3, 3), dtype=torch.float32))
    assert single.shape == (2, 3, 3, 3) and single.dtype == torch.float32
    np.testing.assert_allclose(single.numpy().reshape(6, 3, 3), Rotation.from_rotvec(rotvecs[:6]).as_matrix(),
                               atol=1e-6)


def test_rodrigues_gradient_is_finite_at_zero_and_matches_the_skew_matrix():
    r = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    m = rodrigues(r)
    (m * torch.arange(9, dtype=torch.float64).reshape(3, 3)).sum().backward()
    # dR/dr at 0 is the skew matrix [r]x, so d(sum W*R)/dr = (W21 - W12, W02 - W20, W10 - W01)
    np.testing.assert_allclose(r.grad.numpy(), [7.0 - 5.0, 2.0 - 6.0, 3.0 - 1.0], atol=1e-9)


def _centred(a: np.ndarray) -> np.ndarray:
    return a - a.mean(axis=0)


@pytest.mark.parametrize("with_scale", [True, False])
def test_procrustes_recovers_a_known_similarity(with_scale: bool):
    rng = np.random.default_rng(1)
    src = rng.normal(0.0, 50.0, (4, 21, 3))
    rot = Rotation.random(4, random_state=2).as_matrix()
    s_true = np.array([1.3, 0.7, 1.0, 2.0]) if with_scale else np.ones(4)
    t_true = rng.normal(0.0, 300.0, (4, 3))
    dst = s_true[:, None, None] * src @ rot.transpose(0, 2, 1) + t_true[:, None]
    s, r, t = procrustes(src, dst, scale=with_scale)
    np.testing.assert_allclose(s, s_true, rtol=1e-12)
    np.testing.assert_allclose(r, rot, atol=1e-12)
    np.testing.assert_allclose(t, t_true, atol=1e-9)


def test_procrustes_rotation_is_scipys_kabsch_and_never_a_reflection():
    rng = np.random.default_rng(2)
    src = rng.normal(0.0, 40.0, (21, 3))
    for dst in (src @ Rotation.random(random_state=3).as_matrix().T + rng.normal(0.0, 5.0, (21, 3)),
                src * [1.0, 1.0, -1.0],  # a mirror image: the best proper rotation, not the mirror
                rng.normal(0.0, 40.0, (21, 3))):
        _, r, _ = procrustes(src, dst, scale=False)
        expected, _ = Rotation.align_vectors(_centred(dst), _centred(src))
        np.testing.assert_allclose(r, expected.as_matrix(), atol=1e-9)
        assert np.linalg.det(r) == pytest.approx(1.0)


def test_procrustes_in_2d_and_over_several_leading_axes():
    rng = np.random.default_rng(4)
    src = rng.normal(size=(2, 3, 10, 2))
    angle = rng.uniform(-np.pi, np.pi, (2, 3))
    c, s_ = np.cos(angle), np.sin(angle)
    rot = np.stack([np.stack([c, -s_], -1), np.stack([s_, c], -1)], -2)  # (2, 3, 2, 2)
    dst = 0.5 * src @ np.swapaxes(rot, -1, -2) + [3.0, -1.0]
    s, r, t = procrustes(src, dst)
    assert s.shape == (2, 3) and r.shape == (2, 3, 2, 2) and t.shape == (2, 3, 2)
    np.testing.assert_allclose(s, 0.5, rtol=1e-12)
    np.testing.assert_allclose(r, rot, atol=1e-12)
    np.testing.assert_allclose(t, np.broadcast_to([3.0, -1.0], t.shape), atol=1e-12)
