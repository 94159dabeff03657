"""The Python API: ``HandTracker`` takes your frames and returns hands, as MediaPipe's tasks do.

Why a small front over ``StreamingEngine``: a program that has its own frames (a game loop, a robot, a notebook)
wants options in one dataclass, ``process(rgb=..., depth=..., timestamp=...)`` and a context manager, not the
capture thread, pipeline and ``Frame`` objects of the live app. Results are the engine's own dataclasses
(``FrameResult`` with one ``HandResult`` per hand: 2-D and 3-D joints, mesh vertices, pose, shape, camera,
handedness, track id).

    with HandTracker(HandTrackerOptions(intrinsics=my_camera)) as tracker:
        result = tracker.process(rgb=frame, timestamp=t)      # one frame
        for result in tracker.stream(video_frames): ...       # a sequence: the same results, faster on 2 cores
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calibration.intrinsics import CameraIntrinsics
from engine.ahead import DetectAhead
from engine.frames import Frame
from engine.options import EngineOptions
from engine.results import FrameResult
from engine.sources import RGB_MODEL
from engine.stream import ShapeReport, StreamingEngine

RUNNING_MODES = ("video", "image")


@dataclass
class HandTrackerOptions:
    """``model``: a kind of ``engine.estimators.KINDS`` (default: the keypoint lifter, colour; ``cadstn`` for
    depth); ``model_path`` None for the shipped file. ``running_mode``: ``video`` (frames of one stream: hands are
    tracked and their recurrent state carries over) or ``image`` (unrelated pictures: each one on its own).
    ``intrinsics``: the camera the frames come from (None: a typical webcam's field of view is assumed, so
    metric 3-D is approximate). ``vertices``: also return the mesh."""

    model: str = RGB_MODEL
    model_path: Path | None = None
    running_mode: str = "video"
    max_hands: int = 2
    intrinsics: CameraIntrinsics | None = None
    detector: str = "auto"
    vertices: bool = True
    threads: int = 1


class HandTracker:
    """Hands in your frames: ``process`` one frame at a time (from one thread); ``close`` or use ``with``."""

    def __init__(self, options: HandTrackerOptions | None = None) -> None:
        o = self.options = options or HandTrackerOptions()
        if o.running_mode not in RUNNING_MODES:
            raise ValueError(f"running_mode must be one of {', '.join(RUNNING_MODES)}, got {o.running_mode!r}")
        self._engine = StreamingEngine(EngineOptions(
            model=o.model, model_path=o.model_path, max_hands=o.max_hands, detector=o.detector,
            vertices=o.vertices, threads=o.threads, stills=o.running_mode == "image"))
        self._index = 0
        self._last_timestamp = -np.inf

    def process(self, rgb: np.ndarray | None = None, depth: np.ndarray | None = None,
                timestamp: float | None = None) -> FrameResult:
        """Hands in one frame: ``rgb`` HxWx3 uint8 (RGB order), ``depth`` HxW uint16 millimetres aligned to it,
        either or both as the model needs; ``timestamp`` in seconds, increasing in video mode (default: the
        frame's number at 30 fps)."""
        return self._engine.process(self._frame(rgb, depth, timestamp))

    def stream(self, frames: Iterable[np.ndarray | dict]) -> Iterator[FrameResult]:
        """The results of ``frames`` in order, each what ``process`` would give, but on two cores faster: the detector
        finds the next frame's hands on its own thread while the model finishes this one (``engine.ahead``; for
        models that detect on every frame, else one by one). Each item is an RGB image or a dict of ``process``'s
        arguments. ``frames`` is read on that thread, one frame ahead of the results; don't call ``process``
        until the stream is done or closed."""
        frames = (self._frame(**item) if isinstance(item, dict) else self._frame(rgb=item) for item in frames)
        if not self._engine.detects_ahead:
            for frame in frames:
                yield self._engine.process(frame)
            return
        ahead = DetectAhead(self._engine, frames)
        try:
            while (detected := ahead.get()) is not None:
                yield self._engine.finish(detected)
        finally:
            ahead.close()

    def _frame(self, rgb: np.ndarray | None = None, depth: np.ndarray | None = None,
               timestamp: float | None = None) -> Frame:
        """The engine's frame of ``process``'s arguments (checked: one-line errors), numbered in order."""
        if rgb is None and depth is None:
            raise ValueError("process needs rgb, depth or both")
        if rgb is not None and (rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8):
            raise ValueError(f"rgb must be an HxWx3 uint8 array, got {rgb.dtype} {rgb.shape}")
        if depth is not None and (depth.ndim != 2 or depth.dtype != np.uint16):
            raise ValueError(f"depth must be an HxW uint16 array in millimetres, got {depth.dtype} {depth.shape}")
        t = self._index / 30.0 if timestamp is None else float(timestamp)
        if self.options.running_mode == "video" and t <= self._last_timestamp:
            raise ValueError(f"timestamps must increase in video mode: {t} after {self._last_timestamp}")
        self._last_timestamp = t
        frame = Frame(index=self._index, timestamp=t, rgb=rgb, depth=depth, intrinsics=self.options.intrinsics)
        self._index += 1
        return frame

    def lock_shape(self) -> ShapeReport:
        """Fix each tracked hand's shape β to its recent mean (models that estimate shape)."""
        return self._engine.lock_shape()

    def unlock_shape(self) -> ShapeReport:
        return self._engine.unlock_shape()

    def close(self) -> None:
        """Release MediaPipe and the ONNX Runtime session."""
        self._engine.close()

    def __enter__(self) -> HandTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
