"""Hand tracks: stable identities across frames, each with its own recurrent state and shape history.

Why: with two hands in view, each must keep its own ConvLSTM/LSTM state and its own beta, and the
app must be able to follow "hand 1" and "hand 2". Detections are matched to tracks greedily by the
distance of their centres relative to the hand size (the closest pair first), so identities survive
crossing paths better than ordering by x would; handedness breaks near-ties.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Detection:
    """A hand found in one frame: ``centre`` and ``size`` in pixels (size = longer box edge),
    ``handedness`` ``left``/``right``, ``score`` in [0, 1]; ``landmarks`` (21,2) px when the detector
    gives them; ``centre_uvz`` (3,) the centre of mass of a depth detection: u, v in pixels, z in mm.
    MediaPipe also gives ``landmarks_z`` (21,) each landmark's depth relative to the wrist, in pixels
    (its normalised z times the image width), and ``world`` (21,3) its metric 3-D landmarks in metres."""

    centre: np.ndarray
    size: float
    handedness: str = "right"
    score: float = 1.0
    landmarks: np.ndarray | None = None
    centre_uvz: np.ndarray | None = None
    landmarks_z: np.ndarray | None = None
    world: np.ndarray | None = None


@dataclass
class Track:
    """One hand followed over frames."""

    track_id: int
    handedness: str
    centre: np.ndarray
    size: float
    state: dict = field(default_factory=dict)
    confidence: float = 1.0
    missed: int = 0
    age: int = 0
    since_detection: int = 0
    landmarks: np.ndarray | None = None   # last 2-D joints (px) to crop the next frame from
    centre_uvz: np.ndarray | None = None
    betas: deque = field(default_factory=lambda: deque(maxlen=30))
    last_beta: np.ndarray | None = None
    lock_state: bool = False  # whether last_beta was a locked one


class TrackSet:
    """The live tracks; ``match`` assigns detections to tracks and starts or retires tracks."""

    def __init__(self, max_hands: int = 2, lost_after: int = 5, jump_fraction: float = 0.5,
                 shape_window: int = 30) -> None:
        self.max_hands = max_hands
        self.lost_after = lost_after
        self.jump_fraction = jump_fraction
        self.shape_window = shape_window
        self.tracks: list[Track] = []
        self._next_id = 1

    def reset(self) -> None:
        """Drop every track; identities continue counting so old ids are never reused."""
        self.tracks.clear()

    def match(self, detections: list[Detection]) -> tuple[list[tuple[Track, Detection]], list[Track]]:
        """Assign ``detections`` to tracks (a track whose centre jumped gets a fresh state).

        Returns (matched (track, detection) pairs including new tracks, tracks left without a
        detection this frame). Tracks unmatched for more than ``lost_after`` frames are retired.
        """
        detections = sorted(detections, key=lambda d: -d.score)[: self.max_hands]
        pairs: list[tuple[float, int, int]] = []
        for ti, t in enumerate(self.tracks):
            for di, d in enumerate(detections):
                dist = float(np.linalg.norm(d.centre - t.centre)) / max(t.size, d.size, 1.0)
                if d.handedness != t.handedness:
                    dist += 0.25  # prefer the same hand when positions are ambiguous
                pairs.append((dist, ti, di))
        pairs.sort()
        used_t: set[int] = set()
        used_d: set[int] = set()
        matched: list[tuple[Track, Detection]] = []
        for dist, ti, di in pairs:
            if ti in used_t or di in used_d or dist > 1.5:
                continue
            used_t.add(ti)
            used_d.add(di)
            track, det = self.tracks[ti], detections[di]
            if dist > self.jump_fraction + (0.25 if det.handedness != track.handedness else 0.0):
                track.state = {}  # the hand jumped: its memory would mislead the model
            self._update(track, det)
            matched.append((track, det))
        for di, det in enumerate(detections):
            if di not in used_d and len(self.tracks) < self.max_hands:
                track = Track(self._next_id, det.handedness, det.centre.copy(), det.size,
                              betas=deque(maxlen=self.shape_window))
                self._next_id += 1
                self.tracks.append(track)
                self._update(track, det)
                matched.append((track, det))
        unmatched = []
        for track in list(self.tracks):
            if any(track is t for t, _ in matched):
                continue
            track.missed += 1
            if track.missed > self.lost_after:
                self.tracks.remove(track)
            else:
                unmatched.append(track)
        return matched, unmatched

    @staticmethod
    def _update(track: Track, det: Detection) -> None:
        track.centre = np.asarray(det.centre, np.float64).copy()
        track.size = float(det.size)
        track.handedness = det.handedness
        track.confidence = float(det.score)
        track.missed = 0
        track.since_detection = 0
        if det.landmarks is not None:
            track.landmarks = np.asarray(det.landmarks, np.float64)
        track.centre_uvz = det.centre_uvz
