"""Synthetic landmark sequences: clean ones are the truth exactly, the detector model adds what it says."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from models.lifter.data import KeypointNoise, LifterData, MotionOptions


@pytest.fixture(scope="module")
def chain():
    from models.lifter.train import make_chain

    return make_chain()[0]


def _batch(chain, noise: KeypointNoise, seed: int = 0, size: int = 64, **motion):
    return LifterData(chain, MotionOptions(length=8, **motion), noise).batch(np.random.default_rng(seed), size)


def test_clean_landmarks_are_the_truth(chain) -> None:
    b = _batch(chain, KeypointNoise(clean=1.0, swap=0.0, drop=0.0))
    assert b.features.shape == (64, 8, 126)
    np.testing.assert_allclose(b.features[..., :42].reshape(64, 8, 21, 2).numpy(), b.uv.numpy(), atol=1e-5)
    # the metric landmarks are the true root-relative joints, in palm units
    world = b.features[..., 63:].reshape(64, 8, 21, 3).numpy()
    joints = b.joints.numpy()
    palm = np.linalg.norm(joints[..., (5, 9, 13, 17), :], axis=-1).mean(-1)
    np.testing.assert_allclose(world * palm[..., None, None], joints, atol=1e-5)
    assert np.all(b.half.numpy() > 5.0)


def test_orientations_cover_palm_and_back_and_hands_keep_their_size(chain) -> None:
    b = _batch(chain, KeypointNoise(), size=400)
    palm_normal = b.rotation[:, 0, :, 1].numpy()  # the model's y axis in camera axes
    assert (palm_normal[:, 2] > 0.5).mean() > 0.15 and (palm_normal[:, 2] < -0.5).mean() > 0.15
    bone = np.linalg.norm(b.joints[..., 9, :].numpy(), axis=-1)  # wrist to middle knuckle
    assert 0.06 < bone.min() and bone.max() < 0.14


def test_detector_noise_is_as_large_as_configured(chain) -> None:
    noise = KeypointNoise(clean=0.0, jitter=(0.02, 0.02), drift=0.0, bias=0.0, swap=0.0, drop=0.0)
    b = _batch(chain, noise, size=200)
    err = (b.features[..., :42].reshape(200, 8, 21, 2) - b.uv).numpy()
    # the jitter is 2 % of the extent; the box's half side is 1.1x half the (noisy) extent
    assert 0.025 < err.std() < 0.05
    quiet = _batch(chain, dataclasses.replace(noise, jitter=(0.002, 0.002)), size=200)
    assert (quiet.features[..., :42].reshape(200, 8, 21, 2) - quiet.uv).numpy().std() < err.std() / 5


def test_finger_faults_move_whole_fingers(chain) -> None:
    swap = KeypointNoise(clean=0.0, jitter=(0.0, 0.0), drift=0.0, bias=0.0, depth_scale=(1.0, 1.0),
                         world_jitter_m=(0.0, 0.0), world_drift_m=0.0, world_bias_m=0.0, swap=1.0, drop=0.0)
    b = _batch(chain, swap, size=50)
    err = np.linalg.norm((b.features[..., :42].reshape(50, 8, 21, 2) - b.uv).numpy(), axis=-1)
    moved = err > 1e-4
    assert moved.any()
    assert not moved[..., :6].any() and not moved[..., (9, 13, 17)].any()  # wrist, thumb, MCPs stay


def test_still_sequences_hold_their_pose(chain) -> None:
    b = _batch(chain, KeypointNoise(), size=64, still=1.0)
    np.testing.assert_allclose(b.theta[:, 1:].numpy(), b.theta[:, :1].expand(-1, 7, -1).numpy(), atol=1e-6)
    turn = Rotation.from_matrix(b.rotation[:, -1].numpy()) * Rotation.from_matrix(b.rotation[:, 0].numpy()).inv()
    assert np.degrees(turn.magnitude()).max() <= 9.0 + 1e-6
