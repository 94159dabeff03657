"""Which way is up in an upright depth crop (`models.depth_crop`): the turn that makes the hand point up.

Three sources, best first: the hand's wrist → middle-knuckle direction from 21 keypoints (`joint_axis_angle`:
a colour detector's landmarks or the previous frame's joints; no 180° ambiguity); the crop's principal axis
pointed away from the forearm (`arm_axis_angle`: a new hand's first look); the principal axis pointed to the
side its pixels reach further (`hand_axis_angle`: how the first CADSTN files were trained, kept as it was).

Why the forearm: in a crop cut from a whole frame the arm runs out of the crop's disc while the fingers end
inside it, so the side reaching further is the arm as often as the fingers: on synthetic full frames (arm,
sleeve, body, table; 24 sequences of seed 1000 with both sensor models and of seed 2000 with structured light,
every 4th frame, crops around the engine's depth detector's centre where it held the hand) the third moment
pointed the first look more than 90° away from the hand's true wrist → middle-knuckle axis in 43 and 41 % of
frames, the side away from the disc's rim in 12 and 20 %.
"""
from __future__ import annotations

import functools

import numpy as np

WRIST, MIDDLE_MCP = 0, 9  # MediaPipe keypoint order
RIM = 0.85  # hand pixels beyond this share of the disc's radius touch its rim: an arm leaving the crop
MIN_RIM_SHARE = 0.01  # of the hand's pixels on the rim, to count as an arm (not a stray reading)


@functools.lru_cache(maxsize=8)
def _disc(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres of a size×size crop in [−1, 1] and the crop's inscribed disc."""
    grid = (np.arange(size) + 0.5) / size * 2.0 - 1.0
    return grid, grid[None, :] ** 2 + grid[:, None] ** 2 <= 1.0


def _principal(normed: np.ndarray):
    """The hand pixels' (those < +1 within the disc) principal axis: (angle in the image, third moment along
    it, the hand mask, its centroid x, y), or None for fewer than 3 pixels."""
    grid, disc = _disc(normed.shape[0])
    hand = ((normed < 1.0) & disc).astype(np.float64)
    cols, rows = hand.sum(axis=0), hand.sum(axis=1)  # moments from these and two matrix products: ~30 µs
    n = cols.sum()
    if n < 3:
        return None
    cx, cy = cols @ grid / n, rows @ grid / n
    x, y = grid - cx, grid - cy  # pixel coordinates about the hand's centroid
    axis = 0.5 * np.arctan2(2.0 * (y @ hand @ x), cols @ x ** 2 - rows @ y ** 2)
    c, s = np.cos(axis), np.sin(axis)
    third = (c ** 3 * (cols @ x ** 3) + 3 * c * c * s * (y @ hand @ x ** 2) + 3 * c * s * s * (y ** 2 @ hand @ x)
             + s ** 3 * (rows @ y ** 3))
    return axis, third, hand, cx, cy


def hand_axis_angle(normed: np.ndarray) -> float:
    """The turn (radians) that brings the hand's long axis up in an upright crop: the principal axis of
    the hand's pixels (those < +1 within the crop's inscribed disc), pointing to the side where they
    reach further (the sign of the third moment along it). 0 for a crop with no hand pixels."""
    found = _principal(normed)
    if found is None:
        return 0.0
    axis, third = found[0], found[1]
    if third < 0:
        axis += np.pi
    return float(axis + np.pi / 2)  # the image's up (0, −1) turned by this is the axis


def arm_axis_angle(normed: np.ndarray) -> float:
    """As `hand_axis_angle`, but pointing away from where the hand's pixels touch the disc's rim (a forearm
    leaving the crop) when at least MIN_RIM_SHARE of them do; else the third moment decides, as there."""
    found = _principal(normed)
    if found is None:
        return 0.0
    axis, third, hand, cx, cy = found
    grid, _ = _disc(normed.shape[0])
    rim = hand * (grid[None, :] ** 2 + grid[:, None] ** 2 > RIM ** 2)
    n = rim.sum()
    if n >= max(MIN_RIM_SHARE * hand.sum(), 1.0):
        rx, ry = rim.sum(axis=0) @ grid / n, rim.sum(axis=1) @ grid / n
        towards_arm = np.cos(axis) * (rx - cx) + np.sin(axis) * (ry - cy)
        if towards_arm > 0:
            axis += np.pi
    elif third < 0:
        axis += np.pi
    return float(axis + np.pi / 2)


def joint_axis_angle(points_2d: np.ndarray) -> float:
    """The upright crop's turn (as `hand_axis_angle`) that brings the hand's wrist → middle-knuckle direction
    up, from its 21 keypoints in image pixels (MediaPipe order). Unlike the crop's principal axis it has no
    180° ambiguity, so a crop turned by the previous frame's joints holds its axis from frame to frame."""
    p = np.asarray(points_2d, np.float64)
    d = p[MIDDLE_MCP] - p[WRIST]
    return float(np.arctan2(d[1], d[0]) + np.pi / 2)
