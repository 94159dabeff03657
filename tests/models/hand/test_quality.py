"""The mesh-quality measures notice what they should, and the shipped hand model holds its numbers on a small set
of real and closed poses (issue 26)."""
from __future__ import annotations

import numpy as np
import pytest

from models.hand import quality
from models.hand.correctives import FIT_POSES_FILE
from models.hand.file import read_hand_file
from models.hand.model import OPEN_MODEL_PATH, HandModel, load_hand_model
from models.hand.poses import finger_flexion_pose, named_pose
from models.hand.skeleton import FINGER_JOINTS


@pytest.fixture(scope="module")
def model() -> HandModel:
    return load_hand_model(OPEN_MODEL_PATH)


def _with_posedirs(posedirs: np.ndarray) -> HandModel:
    arrays = read_hand_file(OPEN_MODEL_PATH)
    arrays["posedirs"] = posedirs
    return HandModel(arrays, name="test", path=None)


def test_rest_pose_is_clean(model):
    flipped, stretch = quality.flips_and_stretch(model, np.zeros((1, 45)))
    assert flipped[0] == 0 and stretch[0] == pytest.approx(1.0)
    fingers, palm = quality.penetration(model, np.stack([np.zeros(45), named_pose("spread")]))
    assert fingers.max() == 0.0 and palm.max() == 0.0


def test_a_vertex_pushed_through_the_finger_flips_and_stretches(model):
    posedirs = model.posedirs.copy()
    j2 = FINGER_JOINTS["index"][1]
    # a vertex on the back of the index's middle phalanx, pushed 3 cm inwards (through the finger) as the PIP bends:
    # entry (1, 0) of R - I is sin(flexion) for a bend about z
    on_bone = model.weights[:, j2] > 0.9
    v = int(np.flatnonzero(on_bone)[np.argmax(model.v_template[on_bone, 1])])
    posedirs[v, 1, 9 * (j2 - 1) + 3] -= 0.03
    broken = _with_posedirs(posedirs)
    pose = finger_flexion_pose("index", 90.0)[None]
    flipped, stretch = quality.flips_and_stretch(broken, pose)
    ok_flipped, ok_stretch = quality.flips_and_stretch(model, pose)
    assert flipped[0] > ok_flipped[0]
    assert stretch[0] > ok_stretch[0] + 1.0


def test_a_finger_bent_through_the_palm_penetrates(model):
    pose = np.zeros((1, 16))
    j1, j2, _ = FINGER_JOINTS["middle"]
    pose[0, [j1, j2]] = np.deg2rad([130.0, 130.0])  # beyond the joint limits: the finger has to pass the palm
    from models.pose_prior import angles_to_pose

    _, palm = quality.penetration(model, angles_to_pose(pose))
    assert palm[0] > 0.005


def test_thickness_of_plain_skinning_collapses(model):
    plain = quality.joint_thickness(_with_posedirs(np.zeros_like(model.posedirs)))
    assert min(min(r) for r in plain.values()) < 0.8


# The shipped file (1.4) measures 4 flipped triangles, stretch 1.91, penetration 7.9 / 5.4 mm on that set, 18 of its
# 24 poses meeting every target (1.3: 8, 1.91, 7.6 / 8.2 mm, 12 of 24; the set is 12 held-out real poses, fitted
# within the joint limits, and 10 closed hands of the prior, whose fingers stop at the palm and whose thumb stops at
# both since 2026-12-07; on its closed hands alone 1.4 / 0 mm); a little headroom for a rebuild's floating point.
FLIPS_AT_MOST = 5
STRETCH_AT_MOST = 1.93
FINGER_PENETRATION_AT_MOST = 0.0081
PALM_PENETRATION_AT_MOST = 0.0056
MEETING_ALL_AT_LEAST = 0.74


def test_shipped_model_on_real_and_closed_poses(model):
    """The targets of issue 26 where the shipped file meets them, and its measured level where it does not yet
    (flips and stretch in a few places; see weights/HAND_MODEL.md), so a rebuild cannot silently get worse."""
    with np.load(FIT_POSES_FILE) as z:
        poses = np.concatenate([z["render"].astype(np.float64), quality.closed_hand_poses(10)])
    report = quality.evaluate(model, poses)
    assert report.min_thickness >= 0.8
    assert report.flipped_triangles <= FLIPS_AT_MOST
    assert report.max_stretch <= STRETCH_AT_MOST
    assert report.max_penetration_fingers <= FINGER_PENETRATION_AT_MOST
    assert report.max_penetration_palm <= PALM_PENETRATION_AT_MOST
    assert report.share_meeting["all"] >= MEETING_ALL_AT_LEAST
    fingers, palm = quality.penetration(model, poses[-10:])
    assert max(fingers.max(), palm.max()) <= quality.QualityTargets().max_penetration  # closed hands: touching


def test_closed_hands_are_the_named_two_and_the_grasps_asked_for():
    fist, pinch = named_pose("fist"), named_pose("pinch")
    for n in (0, 3):
        poses = quality.closed_hand_poses(n)
        assert poses.shape == (2 + n, 45)
        np.testing.assert_array_equal(poses[:2], np.stack([fist, pinch]))
        assert np.all(np.abs(poses[2:]).sum(1) > np.abs(fist).sum() / 3)  # grasps, not open hands


def test_command_refuses_a_negative_count(capsys):
    with pytest.raises(SystemExit):
        quality.main(["--closed", "-1"])
    assert "--closed must be >= 0" in capsys.readouterr().err
