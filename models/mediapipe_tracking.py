"""MediaPipe Hands run as its own VIDEO mode does but with the palm detector only now and then (photos: each on its
own, as its IMAGE mode).

Why: MediaPipe's HandLandmarker in VIDEO mode runs its palm detector on every frame while fewer hands are tracked
than it may report (one hand in view, two allowed: ~17 ms a frame here, ~8 ms with one allowed), so it cost the
colour path more than everything else together. Here each tracked hand is followed by the landmark network
alone (`models.mediapipe_landmarks`), and the palm detector (`models.mediapipe_palms`) looks for new hands on every
frame while none is tracked, and every ``search_every`` frames while another could be added.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from models.mediapipe_hands import LandmarkerHand
from models.mediapipe_landmarks import HandRoi, LandmarkNetwork, roi_from_landmarks, roi_overlap
from models.mediapipe_palms import PalmDetector

SAME_HAND = 0.5  # crops overlapping this much (IoU) hold one hand


class TrackedMediaPipeHands:
    """``detect(rgb, timestamp_s)`` -> list of `LandmarkerHand` on a video, as MediaPipe's VIDEO mode reports them.

    A hand whose presence falls below ``min_confidence`` is lost. A hand that comes into view while another is
    followed appears at most ``search_every - 1`` frames later; a palm inside a followed hand's crop is that hand.
    ``stills``: unrelated photos, each searched on its own (MediaPipe's IMAGE mode). ``fp16``: the networks'
    precision (default: fp16 where the CPU computes it, `models.bundle_network`).
    """

    def __init__(self, task_path: Path | str | None = None, max_hands: int = 2, min_confidence: float = 0.5,
                 search_every: int = 4, threads: int | None = None, stills: bool = False,
                 fp16: bool | None = None) -> None:
        self._palms = PalmDetector(task_path, max_hands, min_confidence, threads, fp16)
        self._network = LandmarkNetwork(task_path, threads, fp16)
        self.max_hands, self.min_confidence, self.search_every = max_hands, min_confidence, search_every
        self.stills = stills
        self._rois: list[HandRoi] = []
        self._since_search = 0

    def detect(self, rgb: np.ndarray, timestamp_s: float = 0.0) -> list[LandmarkerHand]:
        """Hands in an HxWx3 uint8 RGB frame of the video (frames in order; the timestamp is not needed)."""
        if self.stills:
            self._rois = []
        hands: list[LandmarkerHand] = []
        rois: list[HandRoi] = []
        self._since_search += 1
        search = not self._rois or self._since_search >= self.search_every
        for roi in self._rois + (self._palms.detect(rgb) if search and len(self._rois) < self.max_hands else []):
            if len(hands) == self.max_hands or any(roi_overlap(roi, r) > SAME_HAND for r in rois):
                continue  # a palm of a hand already followed, or two tracks that found one hand
            hand, presence = self._network.run(rgb, roi)
            next_roi = roi_from_landmarks(hand.landmarks)
            if presence >= self.min_confidence and all(roi_overlap(next_roi, r) <= SAME_HAND for r in rois):
                hands.append(hand)
                rois.append(next_roi)
        if search:
            self._since_search = 0
        self._rois = rois
        return hands

    def close(self) -> None:
        """Forget the hands followed and release the networks."""
        self._rois = []
        self._palms.close()
        self._network.close()
