"""The finger-state rule on hand-made joint sets: which shapes count as extended, and what it ignores."""
from __future__ import annotations

import numpy as np
import pytest

from models.finger_states import (
    DIGIT_EXTENDED,
    HANDS_CLASS_COUNT,
    FingerStates,
    extended_read_extended,
    finger_states,
    states_agree,
)

# A right hand in millimetres, fingers along +y, palm towards -z, thumb on the +x side.
MCPS = {"index": (30.0, 80.0), "middle": (10.0, 84.0), "ring": (-10.0, 80.0), "pinky": (-28.0, 72.0)}
SEGMENTS = (40.0, 25.0, 20.0)  # MCP-PIP, PIP-DIP, DIP-TIP
STRAIGHT_THUMB = np.array([[20.0, 15.0, 0.0], [45.0, 30.0, 0.0], [65.0, 42.0, 0.0], [82.0, 52.0, 0.0]])


def _finger(base: tuple[float, float], flex_deg: tuple[float, float, float]) -> np.ndarray:
    """MCP, PIP, DIP, TIP of a finger flexed by these angles at MCP, PIP and DIP (towards the palm)."""
    points = [np.array([base[0], base[1], 0.0])]
    total = 0.0
    for length, flex in zip(SEGMENTS, flex_deg):
        total += np.radians(flex)
        points.append(points[-1] + length * np.array([0.0, np.cos(total), -np.sin(total)]))
    return np.stack(points)


def _hand(flex: dict[str, tuple[float, float, float]] | None = None, thumb: np.ndarray = STRAIGHT_THUMB) -> np.ndarray:
    flex = flex or {}
    joints = np.zeros((21, 3))
    joints[1:5] = thumb
    for k, finger in enumerate(MCPS):
        joints[5 + 4 * k: 9 + 4 * k] = _finger(MCPS[finger], flex.get(finger, (0.0, 0.0, 0.0)))
    return joints


def test_an_open_hand_has_all_five_extended_and_a_fist_none() -> None:
    assert finger_states(_hand()).as_tuple() == (True,) * 5
    fist_thumb = np.array([[20.0, 15.0, 0.0], [38.0, 35.0, -8.0], [40.0, 52.0, -22.0], [28.0, 60.0, -30.0]])
    fist = _hand({f: (80.0, 100.0, 60.0) for f in MCPS}, thumb=fist_thumb)
    assert finger_states(fist).as_tuple() == (False,) * 5


def test_states_agree_counts_the_frames_with_all_five_states_right() -> None:
    open_hand = _hand()
    one_bent = _hand({"ring": (0.0, 90.0, 0.0)})
    truth = np.stack([open_hand, open_hand, one_bent, one_bent])
    pred = np.stack([open_hand * 1.1 + 5.0, one_bent, one_bent, open_hand])  # scale and shift change no state
    assert states_agree(pred, truth) == 0.5
    with pytest.raises(ValueError, match="differs from ground-truth shape"):
        states_agree(pred[:3], truth)


def test_extended_read_extended_scores_each_finger_only_where_the_truth_holds_it_extended() -> None:
    open_hand = _hand()
    one_bent = _hand({"ring": (0.0, 90.0, 0.0)})
    truth = np.stack([open_hand, open_hand, one_bent, one_bent])
    pred = np.stack([one_bent, open_hand, open_hand, one_bent])  # the ring finger read bent in one of its two
    shares = extended_read_extended(pred, truth)
    assert shares == {"thumb": 1.0, "index": 1.0, "middle": 1.0, "ring": 0.5, "pinky": 1.0}
    # a ring finger the truth never extends has no share; reading it extended costs the others nothing
    shares = extended_read_extended(np.stack([open_hand, open_hand]), np.stack([one_bent, one_bent]))
    assert np.isnan(shares["ring"]) and shares["index"] == 1.0
    with pytest.raises(ValueError, match="differs from ground-truth shape"):
        extended_read_extended(pred[:3], truth)


@pytest.mark.parametrize("flex, extended", [
    ((0.0, 90.0, 0.0), False),    # bent 90 degrees at the middle joint
    ((0.0, 35.0, 35.0), False),   # hooked: 70 degrees of bend in total, past the 60-degree limit
    ((0.0, 25.0, 25.0), True),    # a relaxed curve: 50 degrees in total
    ((150.0, 0.0, 0.0), False),   # straight but folded at the knuckle into the palm: the tip is nearer the wrist
    ((90.0, 0.0, 0.0), True),     # straight, pointing out of the palm: the rule sees a straight finger
])
def test_long_finger_bend_and_reach(flex, extended) -> None:
    states = finger_states(_hand({"middle": flex}))
    assert states.middle is extended
    assert (states.index, states.ring, states.pinky, states.thumb) == (True, True, True, True)


def test_the_hook_fails_on_its_angle_alone() -> None:
    joints = _hand({"ring": (0.0, 35.0, 35.0)})
    mcp, pip, dip, tip = joints[13:17]
    assert np.linalg.norm(tip - joints[0]) > np.linalg.norm(pip - joints[0])  # reach alone would say extended
    assert not finger_states(joints).ring


def test_thumb_folded_across_the_palm_or_bent_is_not_extended() -> None:
    folded = np.array([[20.0, 15.0, 0.0], [40.0, 35.0, -8.0], [42.0, 55.0, -20.0], [30.0, 66.0, -26.0]])
    assert not finger_states(_hand(thumb=folded)).thumb
    bent = STRAIGHT_THUMB.copy()  # a 50-degree bend at the IP joint
    ip, tip = bent[2], bent[3]
    a = np.radians(50.0)
    d = tip - ip
    bent[3] = ip + np.array([d[0] * np.cos(a) - d[1] * np.sin(a), d[0] * np.sin(a) + d[1] * np.cos(a), 0.0])
    assert not finger_states(_hand(thumb=bent)).thumb


def test_a_straight_thumb_pointing_at_the_index_knuckle_is_not_extended() -> None:
    mcp, index_mcp = np.array([45.0, 30.0, 0.0]), np.array([*MCPS["index"], 0.0])
    d = index_mcp - mcp
    thumb = np.stack([mcp - 0.5 * d, mcp, mcp + 0.4 * d, mcp + 0.7 * d])  # no bend at all
    assert not finger_states(_hand(thumb=thumb)).thumb


def _rotation(seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_states_ignore_scale_rotation_translation_and_mirroring(seed: int) -> None:
    joints = _hand({"index": (0.0, 40.0, 30.0), "ring": (20.0, 10.0, 5.0), "pinky": (170.0, 0.0, 0.0)})
    expected = finger_states(joints)
    assert expected.pattern() == "T·MR·"  # a mixed hand, so invariance is not trivial
    moved = 0.001 * joints @ _rotation(seed).T + np.array([0.3, -0.2, 0.7])  # metres, turned, shifted
    mirrored = moved * np.array([-1.0, 1.0, 1.0])                              # a left hand
    assert finger_states(moved) == expected
    assert finger_states(mirrored) == expected


def test_label_tables_follow_the_readme() -> None:
    assert DIGIT_EXTENDED[0].count == 0
    assert DIGIT_EXTENDED[3] == FingerStates(True, True, True, False, False)
    assert DIGIT_EXTENDED[5].count == 5
    assert DIGIT_EXTENDED[7].pattern() == "·IM·P" and DIGIT_EXTENDED[7].pattern(thumb=False) == "IM·P"
    assert DIGIT_EXTENDED[8].long_fingers == (True, False, True, True)
    assert DIGIT_EXTENDED[9].pattern(thumb=False) == "·MRP"
    assert HANDS_CLASS_COUNT == {f"{n}-hand": n for n in range(6)}


def test_bad_joints_are_a_one_line_error() -> None:
    with pytest.raises(ValueError, match="21, 3"):
        finger_states(np.zeros((20, 3)))
    with pytest.raises(ValueError, match="finite"):
        finger_states(np.full((21, 3), np.nan))
