"""Which way is up in an upright depth crop (`models.depth_crop`): the turn that makes the hand point up.

Two sources: the hand's wrist → middle-knuckle direction from 21 keypoints (`joint_axis_angle`: a colour
detector's landmarks or the previous frame's joints; no 180° ambiguity), and the crop's principal axis pointed
to the side its pixels reach further (`hand_axis_angle`: how the first CADSTN files were trained, and a new
hand's first look for the others).

The principal axis is a weak first look on whole frames: the forearm runs out of the crop while the fingers end
inside it, so the side reaching further is the arm about as often as the fingers. On synthetic full frames
(arm, sleeve, body, table; 24 sequences of seed 1000 with both sensor models and of seed 2000 with structured
light, every 4th frame, crops around the engine's depth detector's centre where it held the hand) it pointed
more than 90° away from the hand's true axis in 43 and 41 % of frames. Pointing it away from where the hand's
pixels touch the crop's rim instead was wrong in 12 and 20 %, but tracking full frames from it scored worse
(seed 2000, 40 sequences: 48.9 against 47.5 mm depth only, 63.3 against 59.1 mm with MediaPipe's landmarks;
one sequence whose detector centre sat on the arm was turned upside down and lost), so it is not used: the
engine's recentring instead looks again while the turn has not settled (`models.depth_crop.recentred_crop`).
"""
from __future__ import annotations

import functools

import numpy as np

WRIST, MIDDLE_MCP = 0, 9  # MediaPipe keypoint order


@functools.lru_cache(maxsize=8)
def _disc(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres of a size×size crop in [−1, 1] and the crop's inscribed disc."""
    grid = (np.arange(size) + 0.5) / size * 2.0 - 1.0
    return grid, grid[None, :] ** 2 + grid[:, None] ** 2 <= 1.0


def hand_axis_angle(normed: np.ndarray) -> float:
    """The turn (radians) that brings the hand's long axis up in an upright crop: the principal axis of
    the hand's pixels (those < +1 within the crop's inscribed disc), pointing to the side where they
    reach further (the sign of the third moment along it). 0 for a crop with no hand pixels."""
    grid, disc = _disc(normed.shape[0])
    hand = ((normed < 1.0) & disc).astype(np.float64)
    cols, rows = hand.sum(axis=0), hand.sum(axis=1)  # moments from these and two matrix products: ~30 µs
    n = cols.sum()
    if n < 3:
        return 0.0
    x, y = grid - cols @ grid / n, grid - rows @ grid / n  # pixel coordinates about the hand's centroid
    axis = 0.5 * np.arctan2(2.0 * (y @ hand @ x), cols @ x ** 2 - rows @ y ** 2)
    c, s = np.cos(axis), np.sin(axis)
    third = (c ** 3 * (cols @ x ** 3) + 3 * c * c * s * (y @ hand @ x ** 2) + 3 * c * s * s * (y ** 2 @ hand @ x)
             + s ** 3 * (rows @ y ** 3))
    if third < 0:
        axis += np.pi
    return float(axis + np.pi / 2)  # the image's up (0, −1) turned by this is the axis


def upward_turn(start: np.ndarray, end: np.ndarray) -> float:
    """The turn (radians, as `hand_axis_angle`) that brings the direction ``start`` → ``end`` (image pixels) up:
    the image's up (0, −1) turned by it points along that direction."""
    d = np.asarray(end, np.float64) - np.asarray(start, np.float64)
    return float(np.arctan2(d[1], d[0]) + np.pi / 2)


def joint_axis_angle(points_2d: np.ndarray) -> float:
    """The upright crop's turn that brings the hand's wrist → middle-knuckle direction up, from its 21 keypoints
    in image pixels (MediaPipe order). Unlike the crop's principal axis it has no 180° ambiguity, so a crop turned
    by the previous frame's joints holds its axis from frame to frame."""
    p = np.asarray(points_2d, np.float64)
    return upward_turn(p[WRIST], p[MIDDLE_MCP])
