"""Named poses mean what they say on the shipped hand model."""
from __future__ import annotations

import numpy as np
import pytest

from models.hand.model import load_hand_model
from models.hand.poses import POSE_NAMES, finger_flexion_pose, named_pose


@pytest.fixture(scope="module")
def joints():
    model = load_hand_model()
    return {name: model.forward(named_pose(name)).joints[0] for name in POSE_NAMES}


def test_pose_shapes_and_flat_hand():
    for name in POSE_NAMES:
        assert named_pose(name).shape == (45,)
    np.testing.assert_allclose(named_pose("flat"), 0.0)
    with pytest.raises(ValueError, match="unknown pose"):
        named_pose("wave")


def test_fist_pinch_spread(joints):
    flat, fist, pinch, spread = joints["flat"], joints["fist"], joints["pinch"], joints["spread"]
    tips = [8, 12, 16, 20]
    # Fist: the long fingertips come back to within a few cm of the wrist-to-knuckle middle of the palm.
    palm_centre = 0.5 * (fist[0] + fist[9])
    assert np.linalg.norm(fist[tips] - palm_centre, axis=1).max() < 0.06
    assert np.linalg.norm(flat[tips] - 0.5 * (flat[0] + flat[9]), axis=1).min() > 0.09
    # Pinch: the thumb's pad meets the index finger's (the tip keypoints, at the nails' ends, 13.5 mm apart).
    assert np.linalg.norm(pinch[4] - pinch[8]) < 0.015
    assert np.linalg.norm(flat[4] - flat[8]) > 0.06
    # Spread: fingertips further apart than in the flat hand.
    span = lambda j: np.linalg.norm(j[8] - j[20])  # noqa: E731
    assert span(spread) > span(flat) + 0.01


def test_the_fist_closes_until_its_fingers_meet_the_palm():
    """The named fist used to close its little finger 14 mm into the palm; now each finger stops where it meets it,
    and only the little finger needed much less flexion than the fist's 85 / 100 / 65°."""
    from models.pose_prior import palm_depth, pose_to_angles

    depth = palm_depth(*pose_to_angles(np.stack([named_pose("fist"), named_pose("fist", keep_tips_out=False)])))
    assert (depth[0] <= 0.0).all() and (depth[0] > -0.0005).all()  # all four touch it (each had sunk in)
    assert depth[1, 3] > 0.010
    flex = np.rad2deg(pose_to_angles(named_pose("fist")[None])[0][0])
    assert 95.0 < flex[5] and 85.0 < flex[8] < 92.0  # the middle finger's PIP barely moves, the little's by ~13°


def test_the_thumb_of_the_fist_and_the_pinch_touches_instead_of_sinking_in():
    """The fist's thumb lay 14 mm inside the index finger and the pinch's pads overlapped 6 mm; each thumb now moves
    back only until it touches."""
    from models.pose_prior import pose_to_angles, thumb_depth

    for name, was_at_least in (("fist", 0.010), ("pinch", 0.004)):
        depth = thumb_depth(*pose_to_angles(np.stack([named_pose(name), named_pose(name, keep_tips_out=False)])))
        assert -0.0005 < depth[0] <= 0.0 and depth[1] > was_at_least


def test_finger_flexion_pose_bends_only_that_finger():
    pose = finger_flexion_pose("ring", 60.0).reshape(15, 3)
    bent = np.flatnonzero(np.linalg.norm(pose, axis=1) > 0)
    assert bent.tolist() == [9, 10, 11]  # MANO joints 10-12 (ring), rows of the 15 finger joints
    np.testing.assert_allclose(np.linalg.norm(pose[10]), np.deg2rad(60.0))
    np.testing.assert_allclose(np.linalg.norm(pose[11]), np.deg2rad(40.0))
