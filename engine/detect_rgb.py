"""Hand detection on colour images: MediaPipe's palm detector and landmark network, offline.

Why MediaPipe: trained on real photos, it finds hands robustly and gives 21 landmarks, which make a tight box
for the crop and are the lifter's input. Its two networks run directly (``models.mediapipe_tracking``): on a
video the landmark network follows each hand and the palm detector only looks for new ones now and then; each
photo is searched on its own.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.tracks import Detection
from models.mediapipe_tracking import TrackedMediaPipeHands


class MediaPipeHandDetector:
    """``detect(rgb, timestamp_s)`` → hands as ``Detection`` (box from the 21 landmarks, which it keeps with
    their relative depth and metric 3-D landmarks). ``stills``: each image on its own, for unrelated photos."""

    def __init__(self, task_path: Path | str | None = None, max_hands: int = 2,
                 min_confidence: float = 0.5, stills: bool = False) -> None:
        self._hands = TrackedMediaPipeHands(task_path, max_hands, min_confidence, stills=stills)

    def detect(self, rgb: np.ndarray, timestamp_s: float) -> list[Detection]:
        """Hands in an HxWx3 uint8 RGB image (a video's frames in order)."""
        found = []
        for hand in self._hands.detect(rgb, timestamp_s):
            lo, hi = hand.landmarks.min(axis=0), hand.landmarks.max(axis=0)
            found.append(Detection(centre=(lo + hi) / 2.0, size=float((hi - lo).max()), handedness=hand.handedness,
                                   score=hand.score, landmarks=hand.landmarks, landmarks_z=hand.relative_z,
                                   world=hand.world))
        return found

    def close(self) -> None:
        """Release MediaPipe's graph now (its destructor may run too late, at interpreter exit)."""
        self._hands.close()


class BackgroundDetector:
    """Runs a detector on its own thread so the live path never waits for it (a palm search and landmarks).

    ``submit`` hands over the newest frame when the detector is idle (and refuses otherwise);
    ``poll`` returns the detections of the last finished frame once. The detections are a frame
    or two old when they arrive: fine for placing a 2.2x crop, and the price of not blocking.
    Results then depend on thread timing, so replays that must be reproducible run detection inline.
    """

    def __init__(self, detector: MediaPipeHandDetector) -> None:
        import threading

        self.detector = detector
        self._cond = threading.Condition()
        self._job: tuple[int, np.ndarray, float] | None = None
        self._result: tuple[int, list[Detection]] | None = None
        self._busy = False
        self._closed = False
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="hand-detector", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._busy

    def submit(self, index: int, rgb: np.ndarray, timestamp_s: float) -> bool:
        """Start detecting on this frame unless a detection is still running; True if accepted."""
        with self._cond:
            if self._busy or self._closed:
                return False
            self._busy = True
            self._job = (index, rgb, timestamp_s)
            self._cond.notify_all()
            return True

    def poll(self) -> tuple[int, list[Detection]] | None:
        """(frame index, detections) of a finished detection, once; None while none is new."""
        with self._cond:
            result, self._result = self._result, None
            return result

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._job is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                index, rgb, timestamp = self._job
                self._job = None
            try:
                found = self.detector.detect(rgb, timestamp)
            except Exception as exc:  # noqa: BLE001 - reported, and the live path goes on tracking
                self.error = f"hand detector failed: {exc}"
                found = []
            with self._cond:
                self._result = (index, found)
                self._busy = False

    def close(self) -> None:
        """Stop the thread (after a running detection finishes) and close the detector."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(1.0)
        if not self._thread.is_alive():  # never close MediaPipe under a running detection
            self.detector.close()
