"""A few named hand poses (absolute 45-D axis-angle), for renders, demos and tests.

Built from joint angles through `pose_prior.angles_to_pose`, so they use the same anatomical axes as the prior.
"""
from __future__ import annotations

import numpy as np

from models.hand.skeleton import FINGER_JOINTS
from models.pose_prior import angles_to_pose, close_until_touching

_DEG = np.pi / 180.0
POSE_NAMES = ("flat", "fist", "pinch", "spread", "point")


def finger_flexion_pose(finger: str, degrees: float) -> np.ndarray:
    """(45,) pose with only `finger` bent: its three joints flexed by `degrees` (the last one by 2/3 of it)."""
    flex = np.zeros((1, 16))
    j1, j2, j3 = FINGER_JOINTS[finger]
    flex[0, [j1, j2, j3]] = np.array([1.0, 1.0, 2.0 / 3.0]) * degrees * _DEG
    return angles_to_pose(flex)[0]


def named_pose(name: str, *, keep_tips_out: bool = True) -> np.ndarray:
    """(45,) absolute axis-angle for one of `POSE_NAMES` (`keep_tips_out=False`: the poses before 2026-12-07, the
    fist's little finger closed into the palm, its thumb into the index finger, the pinch's pads into each other)."""
    flex = np.zeros((1, 16))
    abd = np.zeros((1, 16))
    twist = np.zeros((1, 16))
    t1, t2, t3 = FINGER_JOINTS["thumb"]
    if name == "flat":
        pass
    elif name == "fist":
        for f in ("index", "middle", "ring", "pinky"):
            j1, j2, j3 = FINGER_JOINTS[f]
            flex[0, [j1, j2, j3]] = np.array([85.0, 100.0, 65.0]) * _DEG
        # Thumb angles fitted once so its tip rests on the index and middle fingers.
        flex[0, [t1, t2, t3]] = np.array([30.0, 23.0, 22.0]) * _DEG
        abd[0, t1] = 12.0 * _DEG
        twist[0, t1] = 9.0 * _DEG
    elif name == "pinch":
        j1, j2, j3 = FINGER_JOINTS["index"]
        flex[0, [j1, j2, j3]] = np.array([45.0, 55.0, 30.0]) * _DEG
        for f, amount in (("middle", 0.35), ("ring", 0.4), ("pinky", 0.45)):
            j1, j2, j3 = FINGER_JOINTS[f]
            flex[0, [j1, j2, j3]] = np.array([50.0, 60.0, 40.0]) * amount * _DEG
        # Thumb angles fitted once so the thumb tip meets the index tip.
        flex[0, [t1, t2, t3]] = np.array([25.5, 9.3, 12.0]) * _DEG
        abd[0, t1] = 28.6 * _DEG
        twist[0, t1] = 21.4 * _DEG
    elif name == "spread":
        for f, deg in (("index", 14.0), ("middle", 3.0), ("ring", -10.0), ("pinky", -22.0)):
            abd[0, FINGER_JOINTS[f][0]] = deg * _DEG
            flex[0, FINGER_JOINTS[f][0]] = -8.0 * _DEG
        flex[0, t1] = -15.0 * _DEG
        flex[0, t3] = -10.0 * _DEG
    elif name == "point":
        for f in ("middle", "ring", "pinky"):
            j1, j2, j3 = FINGER_JOINTS[f]
            flex[0, [j1, j2, j3]] = np.array([85.0, 100.0, 65.0]) * _DEG
        flex[0, [t1, t2, t3]] = np.array([30.0, 23.0, 22.0]) * _DEG
        abd[0, t1] = 12.0 * _DEG
        twist[0, t1] = 9.0 * _DEG
    else:
        raise ValueError(f"unknown pose {name!r}; choose one of {', '.join(POSE_NAMES)}")
    if keep_tips_out:  # the fist's fingers close until they meet the palm, its thumb until it meets them
        flex, abd, twist = close_until_touching(flex, abd, twist)
    return angles_to_pose(flex, abd, twist)[0]
