"""The built-in ``demo`` source: a synthetic moving hand, colour and depth, needing no camera or files.

Why: every mode of the app and the CLI must be runnable and testable on a machine without a camera.
The sequence is rendered as it first plays and then replayed (looped) like a 30 fps RGB-D camera with
RealSense-like intrinsics. It is a drawn cartoon hand (palm and five flexing fingers) moving in
front of a wall: good enough for depth segmentation, crops, tracking and timing, not a photograph.
"""
from __future__ import annotations

import functools
import math
import time

import numpy as np

from calibration.intrinsics import CameraIntrinsics
from engine.capture import CaptureSource
from engine.frames import Frame

WIDTH, HEIGHT, FPS = 640, 480, 30.0
DEMO_INTRINSICS = CameraIntrinsics(fx=615.0, fy=615.0, cx=319.5, cy=239.5, width=WIDTH, height=HEIGHT)
WALL_MM = 1400
FINGER_ANGLES = (70.0, 25.0, 5.0, -15.0, -35.0)   # thumb .. pinky, degrees from "up" (a right palm)
FINGER_LENGTHS = (55.0, 80.0, 90.0, 82.0, 65.0)    # millimetres
FINGER_WIDTHS = (20.0, 17.0, 18.0, 17.0, 15.0)


def _hand_pose(t: float) -> tuple[np.ndarray, float, float, np.ndarray]:
    """Palm centre (x, y mm), depth (mm), roll (rad), finger flexion in [0, 1] at time ``t`` seconds."""
    centre = np.array([90.0 * math.sin(0.7 * t), 50.0 * math.sin(1.1 * t + 0.4)])
    z = 520.0 + 80.0 * math.sin(0.5 * t)
    roll = 0.35 * math.sin(0.9 * t)
    flex = np.array([0.5 + 0.5 * math.sin(1.7 * t + k * 0.6) for k in range(5)])
    return centre, z, roll, flex


@functools.lru_cache(maxsize=1)
def _background() -> np.ndarray:
    """A soft grey-blue gradient wall (uint8 RGB)."""
    xs = np.linspace(0.0, 1.0, WIDTH, dtype=np.float32)[None, :, None]
    ys = np.linspace(0.0, 1.0, HEIGHT, dtype=np.float32)[:, None, None]
    wall = np.array([70.0, 80.0, 95.0], np.float32) + 50.0 * xs + 30.0 * ys
    return np.broadcast_to(wall, (HEIGHT, WIDTH, 3)).astype(np.uint8)


def render_demo_frame(t: float, kind: str = "rgbd") -> tuple[np.ndarray | None, np.ndarray | None]:
    """RGB (HxWx3 uint8) and depth (HxW uint16 mm) of the demo hand at time ``t``; ``kind`` picks
    ``rgb``, ``depth`` or ``rgbd``."""
    import cv2

    k = DEMO_INTRINSICS
    centre, z, roll, flex = _hand_pose(t)

    def px(p_mm: np.ndarray, depth: float) -> tuple[int, int]:
        return (int(round(k.cx + k.fx * p_mm[0] / depth)), int(round(k.cy + k.fy * p_mm[1] / depth)))

    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    depth_hand = np.zeros((HEIGHT, WIDTH), np.float32)
    scale = k.fx / z
    # palm: an ellipse 80 x 90 mm
    c = px(centre, z)
    axes = (int(40 * scale), int(45 * scale))
    cv2.ellipse(mask, c, axes, math.degrees(roll), 0, 360, 255, -1, cv2.LINE_AA)
    depth_hand[mask > 0] = z
    # fingers: two segments each, the second bending towards the camera as flexion grows
    for i in range(5):
        a = math.radians(FINGER_ANGLES[i]) + roll
        direction = np.array([math.sin(a), -math.cos(a)])
        base = centre + direction * (35.0 if i else 25.0) + (np.array([20.0, 25.0]) if i == 0 else 0.0)
        length = FINGER_LENGTHS[i] * (1.0 - 0.55 * flex[i])
        mid = base + direction * length * 0.55
        tip = base + direction * length
        w = max(2, int(FINGER_WIDTHS[i] * scale))
        seg = np.zeros_like(mask)
        cv2.line(seg, px(base, z), px(mid, z), 255, w, cv2.LINE_AA)
        cv2.line(seg, px(mid, z), px(tip, z - 25.0 * flex[i]), 255, w, cv2.LINE_AA)
        cv2.circle(seg, px(tip, z - 25.0 * flex[i]), w // 2, 255, -1, cv2.LINE_AA)
        new = (seg > 0) & (mask == 0)
        depth_hand[new] = z - 12.0 * flex[i]
        mask |= seg
    # forearm below the palm, receding from the camera
    arm = np.zeros_like(mask)
    cv2.line(arm, c, (c[0], HEIGHT + 40), 255, int(70 * scale))
    arm_only = (arm > 0) & (mask == 0)
    arm_rows = np.nonzero(arm_only)[0].astype(np.float32)
    depth_hand[arm_only] = z + 10.0 + np.maximum(arm_rows - c[1] - axes[1], 0) * 1.5
    body = (mask > 0) | arm_only

    rgb = depth = None
    if kind in ("rgb", "rgbd"):
        rgb = _background().copy()
        shade = 0.85 + 0.15 * np.clip((WALL_MM - depth_hand[body]) / WALL_MM, 0, 1)
        skin = np.array([224.0, 172.0, 140.0], np.float32)
        rgb[body] = np.clip(skin * (shade * np.where(arm_only[body], 0.9, 1.0))[:, None], 0, 255).astype(np.uint8)
    if kind in ("depth", "rgbd"):
        depth = np.full((HEIGHT, WIDTH), WALL_MM, np.float32)
        depth[body] = depth_hand[body]
        depth = np.round(depth).astype(np.uint16)
        depth[:, :8] = 0  # like a real sensor: no reading at the left edge
    return rgb, depth


_RENDERED: dict[tuple[int, str], list] = {}


def _rendered_frame(i: int, num_frames: int, kind: str) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Frame ``i`` of the demo sequence, rendered on first use (about 10 ms) and kept for the process,
    so start-up is instant and the loop costs nothing after its first pass."""
    cache = _RENDERED.setdefault((num_frames, kind), [None] * num_frames)
    if cache[i] is None:
        cache[i] = render_demo_frame(i / FPS, kind)
    return cache[i]


def prerender(kind: str = "rgbd", seconds: float = 4.0) -> None:
    """Render the whole demo now (benchmarks: keep rendering out of the measured frames)."""
    n = max(1, int(seconds * FPS))
    for i in range(n):
        _rendered_frame(i, n, kind)


class DemoSource(CaptureSource):
    """Plays ``seconds`` of the rendered demo at 30 fps (looped when ``loop``); real time or as fast
    as the consumer reads (``realtime=False``, then lossless and with media timestamps)."""

    def __init__(self, *, realtime: bool = True, loop: bool = True, kind: str = "rgbd",
                 seconds: float = 4.0, queue_size: int = 2) -> None:
        if kind not in ("rgb", "depth", "rgbd"):
            raise ValueError(f"demo kind must be rgb, depth or rgbd, got {kind!r}")
        super().__init__("demo", realtime=realtime, queue_size=queue_size)
        self.loop = loop
        self.kind = kind
        self.num_frames = max(1, int(seconds * FPS))
        self._played = 0

    def _open(self) -> None:
        self.intrinsics = DEMO_INTRINSICS

    def _grab(self) -> Frame | None:
        if self._played >= self.num_frames and not self.loop:
            return None
        # play forwards then backwards so the loop has no jump
        period = 2 * self.num_frames - 2 if self.num_frames > 1 else 1
        phase = self._played % period
        i = phase if phase < self.num_frames else period - phase
        media_time = self._played / FPS
        self._played += 1
        self._pace(media_time)
        rgb, depth = _rendered_frame(i, self.num_frames, self.kind)
        timestamp = time.monotonic() if self.realtime else media_time
        return self._make_frame(timestamp, None if rgb is None else rgb.copy(),
                                None if depth is None else depth.copy())
