"""What a capture source hands to the engine: one timestamped frame."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calibration.intrinsics import CameraIntrinsics


@dataclass
class Frame:
    """One capture. ``rgb`` is HxWx3 uint8 in RGB order; ``depth`` is HxW uint16 in millimetres
    (0 = no reading), aligned to ``rgb`` when both exist. ``intrinsics`` describe the image both share
    (the depth camera's when there is no colour). ``timestamp`` is seconds: the capture clock for
    live cameras, the media time for files and recordings (so replays are reproducible).
    ``captured_at`` is ``time.monotonic()`` when the frame left the device, for latency only."""

    index: int
    timestamp: float
    rgb: np.ndarray | None = None
    depth: np.ndarray | None = None
    intrinsics: CameraIntrinsics | None = None
    captured_at: float = 0.0
