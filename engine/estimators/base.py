"""The one interface every model kind implements for the streaming engine.

Why: the engine (``engine.stream``) owns what all models share — detection, tracks, recurrent state
per track, the shape lock, timings — and asks the model kind's estimator only what differs: which
detector it crops from, whether it can follow its own predictions between detections, how it turns
a frame and a track into its network's inputs and its outputs into a ``HandResult``, and what its
ONNX files must contain. Adding a kind is one module beside ``seqhand`` and ``cadstn`` and one line
in ``engine.estimators.KINDS``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from calibration.intrinsics import CameraIntrinsics
from engine.frames import Frame
from engine.options import EngineOptions
from engine.results import HandResult, StageTimings
from engine.runtime import ModelInfo, ModelSession
from engine.tracks import Detection, Track

IMAGE_NAMES = {"rgb": ("colour", "RGB"), "depth": ("depth", "depth")}


@dataclass
class FrameContext:
    """What an estimator gets with each hand of a frame: the frame, its camera, the stage timings to add
    its crop, inference and hand-model time to, and the engine's shape lock (``shape(track, beta)`` →
    the beta to use, locked or raw, and its change since the track's previous frame)."""

    frame: Frame
    intrinsics: CameraIntrinsics
    timings: StageTimings
    shape: Callable[[Track, np.ndarray], tuple[np.ndarray, float]]


class Estimator:
    """One model kind: its network on one tracked hand per call, and the contract of its ONNX files.

    Class attributes say what the kind needs; ``estimate`` does the work. The engine calls
    ``place`` on each frame's detections, ``estimate`` once per hand to run (with its detection, or
    ``None`` when a ``follows_predictions`` kind crops from the track's previous prediction) and
    ``missed`` for each track the detector ran and did not find. The recurrent state lives in
    ``track.state`` (``{}``: fresh; ``self.model.zero_state()`` gives the zeros).
    """

    kind: ClassVar[str]  # the --model name, and the "model" value of its ONNX metadata
    inputs: ClassVar[tuple[str, ...]]  # ONNX inputs its files must have (the state h, c is optional)
    outputs: ClassVar[tuple[str, ...]]  # ONNX outputs its files must have (h_out, c_out likewise)
    image: ClassVar[str] = "rgb"  # the frame image it cannot run without: "rgb" or "depth"
    detectors: ClassVar[tuple[str, ...]] = ("mediapipe",)  # detectors it can crop from; the first is "auto"
    follows_predictions: ClassVar[bool] = False  # between detections a hand is cropped from its last prediction
    estimates_shape: ClassVar[bool] = False  # its results carry beta, so the shape lock applies

    def __init__(self, model: ModelSession, options: EngineOptions) -> None:
        self.model = model
        self.options = options

    # -- the ONNX contract (read by engine.runtime.ModelSession) ----------------------------------
    @classmethod
    def read_info(cls, info: ModelInfo, meta: dict[str, str], inputs: dict) -> None:
        """Fill the kind's fields of ``info`` from the file's metadata ``meta`` and its ``inputs``
        (name → onnxruntime NodeArg); a missing or malformed value raises KeyError/ValueError."""

    @classmethod
    def example_inputs(cls, info: ModelInfo) -> dict[str, np.ndarray]:
        """Inputs of the right shapes (warm-up, benchmarks)."""
        raise NotImplementedError

    # -- per frame ---------------------------------------------------------------------------------
    def check(self, frame: Frame) -> None:
        """A one-line error when ``frame`` lacks the image this kind needs."""
        if getattr(frame, self.image) is None:
            name, needs = IMAGE_NAMES[self.image]
            raise ValueError(f"frame {frame.index} has no {name} image; {self.kind} needs {needs}")

    def place(self, detections: list[Detection], detector: str, frame: Frame) -> list[Detection]:
        """The detector's hands as this kind crops them (dropped, resized or given a depth); as found by default."""
        return detections

    def estimate(self, track: Track, detection: Detection | None, context: FrameContext) -> HandResult | None:
        """Run the network on one hand, advance ``track.state`` and the track's place for the next
        frame, and return the hand (``None`` when the network's answer is unusable)."""
        raise NotImplementedError

    def missed(self, track: Track) -> None:
        """The detector ran and did not find ``track``'s hand this frame (kept by default)."""
