"""Hand detection on colour images: MediaPipe's HandLandmarker (Tasks API, VIDEO mode), offline.

Why MediaPipe: its palm detector + landmark model find hands robustly and give 21 landmarks, which
make a tight box for the first crop. It costs ~25-30 ms per call on this CPU, so the engine calls it
only to acquire hands and to re-check them now and then (``engine/stream.py``).
The model bundle is ``weights/hand_landmarker.task`` (built by ``models/build_hand_landmarker.py``
from MediaPipe's Apache-2.0 models; nothing is downloaded). Tasks API handedness is reported as
seen by the camera for an un-mirrored image (unlike the legacy API), so it is used as is.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from engine.tracks import Detection

DEFAULT_TASK = Path(__file__).resolve().parents[1] / "weights" / "hand_landmarker.task"


class MediaPipeHandDetector:
    """``detect(rgb, timestamp_s)`` → hands as ``Detection`` (box from the 21 landmarks)."""

    def __init__(self, task_path: Path | str | None = None, max_hands: int = 2,
                 min_confidence: float = 0.5, stills: bool = False) -> None:
        """``stills``: IMAGE mode, each call on its own (unrelated photos); otherwise VIDEO mode, which
        tracks the landmarks from frame to frame and runs the palm detector only when a hand is lost."""
        path = Path(task_path) if task_path else DEFAULT_TASK
        if not path.is_file():
            raise FileNotFoundError(f"hand detector bundle {path} is missing (build it with "
                                    "`python -m models.build_hand_landmarker --wheel ...`)")
        # MediaPipe's native logging (glog, TFLite) would print several lines per frame: warnings only.
        os.environ.setdefault("GLOG_minloglevel", "2")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from mediapipe.tasks.python.core.base_options import BaseOptions
        from mediapipe.tasks.python.vision import HandLandmarker, HandLandmarkerOptions
        from mediapipe.tasks.python.vision.core.vision_task_running_mode import VisionTaskRunningMode

        options = HandLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=path.read_bytes()),
            running_mode=VisionTaskRunningMode.IMAGE if stills else VisionTaskRunningMode.VIDEO,
            num_hands=max_hands,
            min_hand_detection_confidence=min_confidence,
            min_hand_presence_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
        )
        try:
            self._landmarker = HandLandmarker.create_from_options(options)
        except (RuntimeError, ValueError, FileNotFoundError) as exc:  # MediaPipe's own choice of types
            raise ValueError(f"hand detector bundle {path} cannot be loaded: {exc}") from None
        self._last_ms = -1
        self.stills = stills

    def detect(self, rgb: np.ndarray, timestamp_s: float) -> list[Detection]:
        """Hands in an HxWx3 uint8 RGB image; timestamps must increase (VIDEO mode)."""
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if self.stills:
            result = self._landmarker.detect(image)
        else:  # VIDEO mode insists on strictly increasing integer milliseconds.
            ms = max(int(round(timestamp_s * 1000.0)), self._last_ms + 1)
            self._last_ms = ms
            result = self._landmarker.detect_for_video(image, ms)
        h, w = rgb.shape[:2]
        found = []
        worlds = result.hand_world_landmarks or [None] * len(result.hand_landmarks)
        for landmarks, handed, world in zip(result.hand_landmarks, result.handedness, worlds):
            pts = np.array([[p.x * w, p.y * h] for p in landmarks], np.float64)
            rel_z = np.array([p.z * w for p in landmarks], np.float64)
            xyz = None if world is None else np.array([[p.x, p.y, p.z] for p in world], np.float64)
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            label = handed[0].category_name.lower() if handed else "right"
            score = float(handed[0].score) if handed else 0.0
            found.append(Detection(centre=(lo + hi) / 2.0, size=float((hi - lo).max()),
                                   handedness="left" if label == "left" else "right",
                                   score=score, landmarks=pts, landmarks_z=rel_z, world=xyz))
        return found

    def close(self) -> None:
        """Release MediaPipe's graph now (its destructor may run too late, at interpreter exit)."""
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None


class BackgroundDetector:
    """Runs a detector on its own thread so the live path never waits ~30 ms for it.

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
