"""The hand skeleton shared by the open hand model's generator, its pose prior and the 21-keypoint mapping.

Everything is in MANO's canonical right-hand frame (verified against the MANO template's rest joints): the wrist
sits near x = +0.095 m, fingers point along -x, the thumb is on the +z side and the palm faces -y (the back of the
hand is +y). Finger flexion is therefore a positive rotation about +z, so the same pose vectors mean the same thing
for our model and the licensed MANO.
"""
from __future__ import annotations

import numpy as np

# MANO's 16-joint kinematic tree: 0 wrist; 1-3 index; 4-6 middle; 7-9 pinky; 10-12 ring; 13-15 thumb.
JOINT_NAMES = (
    "wrist",
    "index1", "index2", "index3",
    "middle1", "middle2", "middle3",
    "pinky1", "pinky2", "pinky3",
    "ring1", "ring2", "ring3",
    "thumb1", "thumb2", "thumb3",
)
PARENTS = np.array([-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14], dtype=np.int64)

# Fingers in the order of `fingertip_ids` (thumb, index, middle, ring, pinky) with their three MANO joints.
FINGERS = ("thumb", "index", "middle", "ring", "pinky")
FINGER_JOINTS = {
    "thumb": (13, 14, 15),
    "index": (1, 2, 3),
    "middle": (4, 5, 6),
    "ring": (10, 11, 12),
    "pinky": (7, 8, 9),
}

# 21 keypoints in the MediaPipe/OpenPose order: index into [16 MANO joints, 5 fingertips (thumb..pinky)].
KEYPOINT_NAMES = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_mcp", "index_pip", "index_dip", "index_tip",
    "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip",
    "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
)
# the keypoints of each finger from the wrist out (thumb .. pinky), and the 20 bones between neighbours: what
# overlays, contact sheets, sample strips and the 3-D view draw
KEYPOINT_CHAINS = tuple((0, 4 * f + 1, 4 * f + 2, 4 * f + 3, 4 * f + 4) for f in range(5))
KEYPOINT_BONES = tuple((a, b) for chain in KEYPOINT_CHAINS for a, b in zip(chain[:-1], chain[1:]))
MANO_TO_KEYPOINTS = np.array(
    [0, 13, 14, 15, 16, 1, 2, 3, 17, 4, 5, 6, 18, 10, 11, 12, 19, 7, 8, 9, 20], dtype=np.int64
)

# Fingertip vertex ids of the licensed MANO mesh (thumb, index, middle, ring, pinky), as used by smplx.
MANO_FINGERTIP_IDS = np.array([744, 320, 443, 554, 671], dtype=np.int64)

# Our own rest skeleton (metres): per finger its three joints and the tip, proportions of an average adult hand
# (about 18 cm from wrist crease to the middle fingertip).
WRIST = np.array([0.095, 0.004, 0.004])
FINGER_POINTS = {
    "index": np.array([[0.009, 0.002, 0.026], [-0.025, 0.003, 0.030], [-0.046, 0.003, 0.032],
                       [-0.066, 0.002, 0.033]]),
    "middle": np.array([[0.002, 0.004, 0.004], [-0.035, 0.005, 0.002], [-0.059, 0.005, 0.000],
                        [-0.080, 0.004, -0.001]]),
    "ring": np.array([[0.009, 0.003, -0.017], [-0.024, 0.004, -0.022], [-0.047, 0.003, -0.026],
                      [-0.067, 0.002, -0.028]]),
    "pinky": np.array([[0.023, -0.001, -0.036], [0.002, -0.001, -0.045], [-0.015, -0.002, -0.051],
                       [-0.033, -0.003, -0.055]]),
    "thumb": np.array([[0.071, -0.010, 0.028], [0.049, -0.013, 0.055], [0.029, -0.016, 0.070],
                       [0.010, -0.018, 0.083]]),
}
# Surface radii (metres) at the three joints and the tip; finger cross-sections are slightly flattened (FLATTEN).
FINGER_RADII = {
    "index": np.array([0.0106, 0.0094, 0.0082, 0.0073]),
    "middle": np.array([0.0110, 0.0097, 0.0085, 0.0075]),
    "ring": np.array([0.0102, 0.0090, 0.0079, 0.0070]),
    "pinky": np.array([0.0091, 0.0080, 0.0070, 0.0063]),
    "thumb": np.array([0.0135, 0.0118, 0.0104, 0.0091]),
}
FLATTEN = 0.88


def rest_joints() -> np.ndarray:
    """(16, 3) rest joints in MANO order."""
    joints = np.zeros((16, 3))
    joints[0] = WRIST
    for finger, ids in FINGER_JOINTS.items():
        joints[list(ids)] = FINGER_POINTS[finger][:3]
    return joints


def rest_tips() -> np.ndarray:
    """(5, 3) rest fingertips in `FINGERS` order."""
    return np.stack([FINGER_POINTS[f][3] for f in FINGERS])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def joint_axes(joints: np.ndarray | None = None, tips: np.ndarray | None = None) -> np.ndarray:
    """(16, 3, 3) per joint: rows (flexion axis, abduction axis, twist axis) in the canonical rest frame.

    Positive flexion curls the bone towards the palm; positive abduction moves it towards the thumb side
    (for the thumb's first joint: away from the palm, i.e. palmar abduction); twist turns it about its own axis.
    """
    joints = rest_joints() if joints is None else joints
    tips = rest_tips() if tips is None else tips
    axes = np.zeros((16, 3, 3))
    axes[0] = np.eye(3)
    for fi, finger in enumerate(FINGERS):
        ids = FINGER_JOINTS[finger]
        chain = np.vstack([joints[list(ids)], tips[fi]])
        for k, j in enumerate(ids):
            d = _unit(chain[k + 1] - chain[k])
            if finger == "thumb":
                # The thumb's pad faces the palm and the fingers: half palmar (-y), half across (towards -z).
                across = _unit(np.cross(d, np.array([0.0, 1.0, 0.0])))  # in the palm plane, towards the fingers
                pad = _unit(-0.55 * np.array([0.0, 1.0, 0.0]) + 0.85 * across)
                if k == 0:
                    flex = _unit(np.cross(d, across))  # swings the thumb across the palm
                    abd = _unit(np.cross(d, np.array([0.0, -1.0, 0.0])))  # lifts it off the palm plane
                else:
                    flex = _unit(np.cross(d, pad))
                    abd = _unit(np.cross(d, flex))
            else:
                pad = np.array([0.0, -1.0, 0.0])
                pad = _unit(pad - d * (pad @ d))
                flex = _unit(np.cross(d, pad))
                abd = _unit(np.cross(d, flex))  # the dorsal normal: turns -x towards +z
            axes[j] = np.stack([flex, abd, d])
    return axes
