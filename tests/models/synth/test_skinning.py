"""The generator's fast skinning equals the hand model's own forward pass."""
from __future__ import annotations

import numpy as np

from models.pose_prior import sample_poses
from models.synth.skinning import FastSkinning


def test_fast_skinning_equals_hand_model_forward(hand_model) -> None:
    rng = np.random.default_rng(0)
    theta = sample_poses(7, rng)
    betas = rng.uniform(-2, 2, (7, 10))
    ours = FastSkinning(hand_model)(theta, betas)
    ref = hand_model.forward(theta, betas)
    np.testing.assert_allclose(ours.vertices, ref.vertices, atol=1e-9)
    np.testing.assert_allclose(ours.joints, ref.joints, atol=1e-9)
