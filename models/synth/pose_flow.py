"""Pose-flows (SeqHAND §3.2, Eq. 5-7): hand motions that walk through a bank of real or plausible poses.

Each frame moves the current pose α/n of the way towards the final pose in joint space and then snaps to the
nearest bank pose, so every frame is a bank pose and the motion drifts, not interpolates, towards the goal.
`metric="l2"` is the paper's Euclidean nearest neighbour; `metric="l1_prev"` is the reference code's variant:
among the nearest candidates by L1, the one minimising L1 to the updated pose plus L1 to the previous pose
(smoother motion).

Why the update starts from the unsnapped state by default (`snap_state=False`): Eq. 6 starts from the snapped
pose P_{k-1}, which works with BigHand's 2.2M densely sampled poses, but in a bank of 10⁴-10⁵ poses in 63-D the
pose nearest a 12 % step is usually the current one and the flow stalls. Carrying the continuous P_updated
and snapping each frame to the bank keeps every frame a bank pose and the motion going; `snap_state=True`
is the literal Eq. 6. The camera (rotation, scale, 2-D translation) is updated by the same α/n rule, unsnapped.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from models.synth.pose_bank import PoseBank

METRICS = ("l2", "l1_prev")


@dataclass(frozen=True)
class FlowOptions:
    frames: int = 10
    alpha: float = 1.2  # update size of Eq. 6 (reference code)
    steps: int = 10  # n of Eq. 6
    metric: str = "l2"
    prev_weight: float = 1.0  # l1_prev: weight of the distance to the previous pose
    candidates: int = 8  # l1_prev: nearest candidates considered
    snap_state: bool = False  # True: Eq. 6 updates from the snapped pose (stalls on sparse banks, see above)

    def __post_init__(self) -> None:
        if self.frames < 1:
            raise ValueError(f"frames must be >= 1, got {self.frames}")
        if self.steps < 1 or not 0.0 < self.alpha <= self.steps:
            raise ValueError(f"pose-flow alpha must be in (0, steps] and steps >= 1, got {self.alpha}, {self.steps}")
        if self.metric not in METRICS:
            raise ValueError(f"pose-flow metric must be one of {', '.join(METRICS)}, got {self.metric!r}")


class PoseFlowPlanner:
    """Plans flows over one bank; build it once per process (the KD-tree is the costly part)."""

    def __init__(self, bank: PoseBank, options: FlowOptions = FlowOptions()) -> None:
        self.bank = bank
        self.options = options
        self._features = bank.features.astype(np.float64)
        self._tree = cKDTree(self._features)

    def flow(self, rng: np.random.Generator) -> np.ndarray:
        """(frames,) bank indices of one flow between two random bank poses (Eq. 5-7)."""
        o = self.options
        first, final = (int(i) for i in rng.integers(0, len(self.bank), size=2))
        goal = self._features[final]
        indices = [first]
        state = self._features[first]
        for _ in range(1, o.frames):
            prev = self._features[indices[-1]]
            base = prev if o.snap_state else state
            updated = base - o.alpha / o.steps * (base - goal)
            state = updated
            if o.metric == "l2":
                _, idx = self._tree.query(updated)
                indices.append(int(idx))
            else:
                k = min(o.candidates, len(self.bank))
                _, cand = self._tree.query(updated, k=k, p=1)
                cand = np.atleast_1d(cand)
                cost = np.abs(self._features[cand] - updated).sum(1) \
                    + o.prev_weight * np.abs(self._features[cand] - prev).sum(1)
                indices.append(int(cand[np.argmin(cost)]))
        return np.asarray(indices, dtype=np.int64)


def approach(start: np.ndarray, end: np.ndarray, frames: int, alpha: float, steps: int) -> np.ndarray:
    """(frames, D): x_0 = start, x_k = x_{k-1} + α/n (end - x_{k-1}) — Eq. 6 without the snap."""
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    out = np.empty((frames, *start.shape))
    out[0] = start
    for k in range(1, frames):
        out[k] = out[k - 1] + alpha / steps * (end - out[k - 1])
    return out


def rotation_approach(start: Rotation, end: Rotation, frames: int, alpha: float, steps: int) -> np.ndarray:
    """(frames, 3) axis-angle: the same rule on SO(3), each step α/n along the geodesic to `end`."""
    out = [start]
    for _ in range(1, frames):
        cur = out[-1]
        delta = (cur.inv() * end).as_rotvec()
        out.append(cur * Rotation.from_rotvec(alpha / steps * delta))
    return np.stack([r.as_rotvec() for r in out])
