"""The anatomical pose prior: limits, coupling between joints and fingers, determinism."""
from __future__ import annotations

import numpy as np
import pytest

from models.hand.skeleton import FINGER_JOINTS, joint_axes
from models.pose_prior import (
    angles_to_pose,
    beyond_limits,
    joint_limits,
    keep_thumb_clear,
    keep_tips_out_of_palm,
    limit_bounds,
    palm_depth,
    pose_to_angles,
    sample_angles,
    sample_poses,
    thumb_depth,
)

N = 20_000


@pytest.fixture(scope="module")
def poses() -> np.ndarray:
    return sample_poses(N, np.random.default_rng(7))


def _component(poses: np.ndarray, joint: int, row: int) -> np.ndarray:
    """Angle (radians) of the axis-angle of `joint` along its anatomical axis `row` (0 flex, 1 abd, 2 twist)."""
    return poses[:, (joint - 1) * 3:(joint - 1) * 3 + 3] @ joint_axes()[joint, row]


def test_shape_determinism_and_flat_hand(poses):
    assert poses.shape == (N, 45) and np.isfinite(poses).all()
    again = sample_poses(100, np.random.default_rng(7))
    np.testing.assert_array_equal(again, sample_poses(100, np.random.default_rng(7)))
    assert not np.allclose(again, sample_poses(100, np.random.default_rng(8)))
    np.testing.assert_allclose(angles_to_pose(np.zeros((1, 16))), np.zeros((1, 45)))
    assert sample_poses(0, np.random.default_rng(0)).shape == (0, 45)


def test_flexion_stays_within_joint_limits(poses):
    limits = joint_limits()
    tol = np.deg2rad(3.0)  # abduction/twist tilt the axis-angle slightly off the pure flexion axis
    thumb = set(FINGER_JOINTS["thumb"])  # its large abduction and twist make a flexion projection meaningless
    for joint, lim in limits.items():
        if joint in thumb:
            continue
        flex = _component(poses, joint, 0)
        assert flex.min() > np.deg2rad(lim.flex[0]) - tol, joint
        assert flex.max() < np.deg2rad(lim.flex[1]) + tol, joint
    for finger in ("index", "middle", "ring", "pinky"):
        pip = _component(poses, FINGER_JOINTS[finger][1], 0)
        assert np.deg2rad(80) < pip.max() and pip.min() < np.deg2rad(5)  # the range is actually used
    flex, abd, twist = sample_angles(N, np.random.default_rng(1))
    for joint, lim in limits.items():
        for values, bounds in ((flex, lim.flex), (abd, lim.abd), (twist, lim.twist)):
            assert np.deg2rad(bounds[0]) - 1e-12 <= values[:, joint].min()
            assert values[:, joint].max() <= np.deg2rad(bounds[1]) + 1e-12


def test_finger_coupling(poses):
    pip = {f: _component(poses, FINGER_JOINTS[f][1], 0) for f in ("index", "middle", "ring", "pinky")}
    dip = _component(poses, FINGER_JOINTS["middle"][2], 0)
    # DIP follows about 2/3 of the PIP.
    slope = np.polyfit(pip["middle"], dip, 1)[0]
    assert 0.5 < slope < 0.8
    assert np.corrcoef(pip["middle"], dip)[0, 1] > 0.85
    # Neighbouring fingers close together, more than distant ones.
    near = np.corrcoef(pip["middle"], pip["ring"])[0, 1]
    far = np.corrcoef(pip["index"], pip["pinky"])[0, 1]
    assert near > 0.6 and near > far
    # Spread shrinks as the hand closes.
    index_abd = np.abs(_component(poses, FINGER_JOINTS["index"][0], 1))
    closed = pip["index"] > np.deg2rad(70)
    opened = pip["index"] < np.deg2rad(20)
    assert index_abd[closed].mean() < index_abd[opened].mean()



def _thumbs(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The thumb's bend (the finger-state rule's measure, degrees) and its tip's distance from the index finger's
    MCP → tip segment (mm), hand model at β = 0."""
    from models.finger_states import thumb_bend_deg
    from models.hand.model import load_hand_model
    from models.synth.pose_bank import bank_from_theta

    joints = bank_from_theta(theta, load_hand_model(), "test").joints * 1000.0
    tip, a, b = joints[:, 4], joints[:, 5], joints[:, 8]
    t = np.clip(((tip - a) * (b - a)).sum(1) / ((b - a) ** 2).sum(1), 0.0, 1.0)
    return np.array([thumb_bend_deg(j) for j in joints]), np.linalg.norm(tip - (a + t[:, None] * (b - a)), axis=1)


def test_open_hands_with_a_straight_thumb(poses):
    from models.pose_prior import sample_straight_thumb

    rng = np.random.default_rng(3)
    theta = sample_straight_thumb(400, rng)
    assert theta.shape == (400, 45) and sample_straight_thumb(0, rng).shape == (0, 45)
    np.testing.assert_array_equal(sample_straight_thumb(5, np.random.default_rng(1)),
                                  sample_straight_thumb(5, np.random.default_rng(1)))
    for finger in ("index", "middle", "ring", "pinky"):  # open long fingers
        assert _component(theta, FINGER_JOINTS[finger][1], 0).max() < np.deg2rad(40)
    bend, beside = _thumbs(theta)
    prior_bend, _ = _thumbs(poses[:400])
    assert np.mean(bend < 20) > 0.5 and np.mean(prior_bend < 20) < 0.1  # straight, where the prior curls it
    assert np.mean(beside < 40) > 0.05 and np.mean(beside > 70) > 0.25  # from beside the index finger to spread
    with pytest.raises(ValueError, match="n must be >= 0"):
        sample_straight_thumb(-1, rng)


def test_pose_to_angles_inverts_angles_to_pose():
    """Angles come back, flexion past 90° and at exactly 90° (gimbal lock: the rotation comes back) included."""
    from scipy.spatial.transform import Rotation

    flex, abd, twist = sample_angles(5000, np.random.default_rng(2))
    assert np.any(flex > np.pi / 2)  # the PIPs bend past 90°: the other Euler solution must be taken
    got = pose_to_angles(angles_to_pose(flex, abd, twist))
    lock = np.abs(np.cos(flex)) < 1e-5
    assert lock.any()  # MCPs clipped at their 90° limit
    for want, have in zip((flex, abd, twist), got):
        np.testing.assert_allclose(have[:, 1:][~lock[:, 1:]], want[:, 1:][~lock[:, 1:]], atol=1e-9)
    # at ±90° flexion only abduction ∓ twist is defined; it comes back split evenly
    np.testing.assert_allclose(got[0][lock], flex[lock], atol=1e-9)
    np.testing.assert_allclose(got[1][lock], 0.5 * (abd - np.sign(flex) * twist)[lock], atol=1e-6)
    np.testing.assert_allclose(got[2][lock], -got[1][lock] * np.sign(flex[lock]), atol=1e-12)
    rng = np.random.default_rng(3)
    any_pose = rng.normal(0, 1.2, (2000, 45))  # any rotation, far outside the limits
    again = angles_to_pose(*pose_to_angles(any_pose))
    as_matrix = lambda p: Rotation.from_rotvec(p.reshape(-1, 3)).as_matrix()  # noqa: E731
    np.testing.assert_allclose(as_matrix(again), as_matrix(any_pose), atol=1e-9)
    assert np.abs(pose_to_angles(any_pose)[1]).max() <= np.pi / 2 + 1e-12  # the solution with |abduction| <= 90°


def test_limit_bounds_widen_the_joint_limits():
    low, high = limit_bounds(10.0)
    assert low.shape == high.shape == (3, 16)
    assert low[:, 0].min() == -np.pi and high[:, 0].max() == np.pi  # the wrist is free
    lim = joint_limits()[2]  # the index PIP
    np.testing.assert_allclose(np.rad2deg([low[0, 2], high[0, 2], low[1, 2], high[2, 2]]),
                               [lim.flex[0] - 10, lim.flex[1] + 10, lim.abd[0] - 10, lim.twist[1] + 10])
    flex, abd, twist = np.zeros((2, 16)), np.zeros((2, 16)), np.zeros((2, 16))
    flex[1, 3] = np.deg2rad(joint_limits()[3].flex[1] + 25.0)  # the index DIP, 25° past its limit
    got = np.rad2deg(beyond_limits(angles_to_pose(flex, abd, twist), 10.0))
    np.testing.assert_allclose(got[1], 15.0, atol=1e-9)
    assert got[0] < 0  # the flat hand is within every limit


def test_no_finger_closes_into_the_palm():
    """Within the joint limits alone a quarter of the prior's hands closed a finger into the palm (up to 15 mm, the
    little finger most often); the prior stops each such finger where it meets the palm and changes nothing else."""
    free = sample_angles(5000, np.random.default_rng(3), keep_tips_out=False)
    kept = sample_angles(5000, np.random.default_rng(3))
    before, after = palm_depth(*free), palm_depth(*kept)
    inside = before > 0.0
    assert 0.15 < inside.any(axis=1).mean() < 0.35 and before.max() > 0.010
    assert after.max() <= 0.0
    fingers = [j for f in ("index", "middle", "ring", "pinky") for j in FINGER_JOINTS[f]]
    np.testing.assert_array_equal(free[1][:, fingers], kept[1][:, fingers])  # only flexion moves a long finger
    np.testing.assert_array_equal(free[2][:, fingers], kept[2][:, fingers])
    changed = np.abs(kept[0] - free[0]) > 0
    long_fingers = [FINGER_JOINTS[f] for f in ("index", "middle", "ring", "pinky")]
    for fi, joints in enumerate(long_fingers):
        assert np.array_equal(changed[:, list(joints)].any(axis=1), inside[:, fi])  # only fingers that sank in
        scale = kept[0][inside[:, fi]][:, list(joints)] / free[0][inside[:, fi]][:, list(joints)]
        assert np.allclose(scale, scale[:, :1]) and (scale < 1.0).all()  # the finger's three joints alike
    assert (after[inside] > -0.0005).all()  # stopped where it touches, not short of it
    np.testing.assert_array_equal(keep_tips_out_of_palm(*kept), kept[0])  # nothing left to do


def test_no_thumb_sinks_into_the_palm_or_the_fingers():
    """With the long fingers stopped at the palm, the thumb still sank into them or the palm in about 15 % of the
    prior's hands; it now moves back, all its joints' angles by one factor, until it only touches them."""
    free = sample_angles(5000, np.random.default_rng(3), keep_tips_out=False)
    fingers_only = (keep_tips_out_of_palm(*free), free[1], free[2])
    kept = sample_angles(5000, np.random.default_rng(3))
    before, after = thumb_depth(*fingers_only), thumb_depth(*kept)
    inside = before > 0.0
    assert 0.08 < inside.mean() < 0.25 and before.max() > 0.010
    assert after.max() <= 0.0 and (after[inside] > -0.0005).all()  # touching, not short of it
    thumb = list(FINGER_JOINTS["thumb"])
    others = [j for j in range(16) if j not in thumb]
    for got, was in zip(kept, fingers_only):
        np.testing.assert_array_equal(got[:, others], was[:, others])  # the long fingers as the palm left them
        np.testing.assert_array_equal(got[~inside], was[~inside])
        moved = was[inside][:, thumb] != 0.0
        scale = got[inside][:, thumb][moved] / was[inside][:, thumb][moved]
        assert (scale < 1.0).all() and (scale >= 0.0).all()
    scales = kept[0][inside][:, thumb] / fingers_only[0][inside][:, thumb]
    assert np.allclose(scales, scales[:, :1])  # one factor for the whole thumb
    for x, y in zip(keep_thumb_clear(*kept), kept):
        np.testing.assert_array_equal(x, y)  # nothing left to do


def test_a_thumb_curled_into_the_fingers_overlaps_them():
    flex, abd, twist = (np.zeros((2, 16)) for _ in range(3))
    for f in ("index", "middle", "ring", "pinky"):
        flex[:, list(FINGER_JOINTS[f])] = np.deg2rad([60.0, 60.0, 40.0])
    t1, t2, t3 = FINGER_JOINTS["thumb"]
    flex[1, [t1, t2, t3]] = np.deg2rad([30.0, 23.0, 22.0])  # the named fist's thumb, on half-closed fingers
    abd[1, t1], twist[1, t1] = np.deg2rad(12.0), np.deg2rad(9.0)
    depth = thumb_depth(flex, abd, twist)
    assert depth[0] < -0.010 and depth[1] > 0.005  # the flat thumb is clear; this one lies in the index finger


def test_a_finger_bent_through_the_palm_sinks_into_it():
    flex = np.zeros((2, 16))
    j1, j2, j3 = FINGER_JOINTS["middle"]
    flex[1, [j1, j2, j3]] = np.deg2rad([90.0, 110.0, 80.0])
    depth = palm_depth(flex, np.zeros_like(flex), np.zeros_like(flex))
    assert depth[0].max() < -0.005  # the flat hand's fingers are far from the palm
    assert depth[1, 1] > 0.003 and depth[1, [0, 2, 3]].max() < -0.005


def test_the_contact_check_poses_the_fingers_as_the_hand_model_does():
    """The stops pose the fingers' chains straight from the quaternions, all fingers at once; their joints must land
    where the hand model's own chain (`angles_to_pose` → Rodrigues → `chain_transforms`) puts them."""
    from models.hand.model import chain_transforms, rodrigues
    from models.hand.skeleton import PARENTS, rest_joints
    from models.pose_prior import _phalanges

    flex, abd, twist = sample_angles(200, np.random.default_rng(4), keep_tips_out=False)
    rots = rodrigues(angles_to_pose(flex, abd, twist).reshape(-1, 15, 3))
    rots = np.concatenate([np.tile(np.eye(3), (len(flex), 1, 1, 1)), rots], axis=1)
    _, world_t, _ = chain_transforms(PARENTS, rots, rest_joints()[None])
    fingers = ("thumb", "index", "middle", "ring", "pinky")
    points, _ = _phalanges(fingers, flex, abd, twist, (0, 1, 2))
    for fi, finger in enumerate(fingers):
        for k, j in enumerate(FINGER_JOINTS[finger]):
            np.testing.assert_allclose(points[:, fi, k, 0], world_t[:, j], atol=1e-12)  # each phalanx starts there
