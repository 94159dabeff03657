"""MediaPipe's HandLandmarker (Tasks API) as arrays: MediaPipe Hands as its authors run it, the reference row of
`bench` and `eval`; and the shipped bundle's path.

Why in models/: MediaPipe's palm detector and landmark network are learned models we ship
(`weights/hand_landmarker.task`, built by `models/build_hand_landmarker.py` from MediaPipe's Apache-2.0 files;
nothing is downloaded). The engine and the lifter's training data run the bundle's two networks directly
(`models.mediapipe_tracking`); this wrapper is what they are measured against.
Tasks API handedness is reported as seen by the camera for an un-mirrored image (unlike the legacy API), so it
is used as is.
"""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.shipped import shipped_file

DEFAULT_TASK = shipped_file("hand_landmarker.task")


@dataclass
class LandmarkerHand:
    """One hand: ``landmarks`` (21, 2) pixels, ``relative_z`` (21,) each landmark's depth relative to the wrist in
    pixels (MediaPipe's normalised z times the image width), ``world`` (21, 3) metric landmarks in metres (camera
    axes, origin near the hand's centre), ``handedness`` left/right and its ``score``."""

    landmarks: np.ndarray
    relative_z: np.ndarray
    world: np.ndarray | None
    handedness: str
    score: float


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence what MediaPipe's C++ side (LiteRT, glog) prints on standard error while it starts up: a dozen
    INFO/WARNING lines on every start that say nothing to a user. ``HANDSTREAM_DEBUG`` (``--debug``) keeps them."""
    if os.environ.get("HANDSTREAM_DEBUG"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def bundle_path(task_path: Path | str | None = None) -> Path:
    """The hand detector bundle to load (default: the shipped one); a one-line error when it is missing."""
    path = Path(task_path) if task_path else DEFAULT_TASK
    if not path.is_file():
        raise FileNotFoundError(f"hand detector bundle {path} is missing (build it with "
                                "`python -m models.build_hand_landmarker --wheel ...`)")
    return path


class MediaPipeHands:
    """``detect(rgb, timestamp_s)`` -> list of `LandmarkerHand`; ``close()`` releases MediaPipe's graph.

    ``stills``: IMAGE mode, each call on its own (unrelated photos); otherwise VIDEO mode, which tracks the
    landmarks from frame to frame and runs the palm detector only when a hand is lost.
    """

    def __init__(self, task_path: Path | str | None = None, max_hands: int = 2, min_confidence: float = 0.5,
                 stills: bool = False) -> None:
        path = bundle_path(task_path)
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
        self._last_ms = -1
        self.stills = stills
        with quiet_native_stderr():
            try:
                self._landmarker = HandLandmarker.create_from_options(options)
            except (RuntimeError, ValueError, FileNotFoundError) as exc:  # MediaPipe's own choice of types
                raise ValueError(f"hand detector bundle {path} cannot be loaded: {exc}") from None
            self.detect(np.zeros((64, 64, 3), np.uint8))  # the first run logs its delegates: here, quietly

    def detect(self, rgb: np.ndarray, timestamp_s: float = 0.0) -> list[LandmarkerHand]:
        """Hands in an HxWx3 uint8 RGB image; in VIDEO mode timestamps must increase."""
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if self.stills:
            result = self._landmarker.detect(image)
        else:  # VIDEO mode insists on strictly increasing integer milliseconds.
            ms = max(int(round(timestamp_s * 1000.0)), self._last_ms + 1)
            self._last_ms = ms
            result = self._landmarker.detect_for_video(image, ms)
        h, w = rgb.shape[:2]
        worlds = result.hand_world_landmarks or [None] * len(result.hand_landmarks)
        hands = []
        for landmarks, handed, world in zip(result.hand_landmarks, result.handedness, worlds):
            label = handed[0].category_name.lower() if handed else "right"
            hands.append(LandmarkerHand(
                landmarks=np.array([[p.x * w, p.y * h] for p in landmarks], np.float64),
                relative_z=np.array([p.z * w for p in landmarks], np.float64),
                world=None if world is None else np.array([[p.x, p.y, p.z] for p in world], np.float64),
                handedness="left" if label == "left" else "right",
                score=float(handed[0].score) if handed else 0.0))
        return hands

    def close(self) -> None:
        """Release MediaPipe's graph now (its destructor may run too late, at interpreter exit)."""
        if self._landmarker is not None:
            with quiet_native_stderr():  # it logs each accelerator it destroys
                self._landmarker.close()
            self._landmarker = None
