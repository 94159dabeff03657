"""What the engine produces per frame: dataclasses shared by the CLI, the recorder and the app."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class StageTimings:
    """Milliseconds spent in each stage of one frame."""

    capture_ms: float = 0.0
    detect_ms: float = 0.0
    crop_ms: float = 0.0
    inference_ms: float = 0.0
    hand_model_ms: float = 0.0
    total_ms: float = 0.0

    def add_hand(self, start: float, inputs_ready: float, inferred: float, done: float) -> None:
        """Add one hand's stages from ``time.perf_counter()`` marks: making the network's inputs (crop),
        running it (inference), turning its answer into the hand (hand model)."""
        self.crop_ms += (inputs_ready - start) * 1000.0
        self.inference_ms += (inferred - inputs_ready) * 1000.0
        self.hand_model_ms += (done - inferred) * 1000.0


@dataclass
class HandResult:
    """One tracked hand in one frame.

    Joints follow the 21-keypoint MediaPipe order (0 wrist, 1-4 thumb, 5-8 index, 9-12 middle,
    13-16 ring, 17-20 pinky). ``joints_3d`` and ``vertices`` are camera-space millimetres.
    ``theta`` is the pose (PCA coefficients for SeqHAND-Net, empty for CADSTN), ``beta`` the 10 shape
    values, ``camera`` the weak-perspective (s, tx, ty, rx, ry, rz) or None. ``box`` is the crop in
    image pixels (x0, y0, x1, y1). ``beta_change`` is the L2 norm of beta's change since this track's
    previous frame (zero while the shape is locked): it shows what locking the shape does.
    """

    track_id: int
    handedness: str
    confidence: float
    box: tuple[float, float, float, float]
    joints_2d: np.ndarray
    joints_3d: np.ndarray
    vertices: np.ndarray | None = None
    theta: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    beta: np.ndarray = field(default_factory=lambda: np.zeros(10, np.float32))
    camera: np.ndarray | None = None
    beta_change: float = 0.0


@dataclass
class FrameResult:
    """All hands found in one frame, with the frame's identity and stage timings."""

    frame_index: int
    timestamp: float
    hands: list[HandResult] = field(default_factory=list)
    timings: StageTimings = field(default_factory=StageTimings)
    dropped_frames: int = 0
    shape_locked: bool = False

