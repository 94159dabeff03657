"""The built-in ``demo`` source: the open hand model moving in front of a wall, colour and depth,
needing no camera or files.

Why: every mode of the app and the CLI must run, and be tested, on a machine without a camera, and the
networks should see what they were trained on. The demo is rendered at start-up with the synthetic-data
renderer (``models.synth``, 5–10 s on this 2-core CPU): the hand opens, closes and points through a
few poses of the anatomical prior while it drifts, turns and comes closer, seen by a 30 fps RGB-D
camera with RealSense-like intrinsics. Its ground truth (``demo_truth``) lets tests and benchmarks score the models.
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
SECONDS = 4.0
DEMO_INTRINSICS = CameraIntrinsics(fx=615.0, fy=615.0, cx=319.5, cy=239.5, width=WIDTH, height=HEIGHT)
KEY_POSES = 5  # poses of the prior the hand moves through, one every second
DEMO_SENSOR = "active_stereo"  # a RealSense D4xx's depth (models.synth.depth_sensor), in front of a plain wall


def _hand_pose(t: float) -> tuple[np.ndarray, float, float, float]:
    """Where the hand is at ``t`` seconds: joint centroid (x, y mm), its depth (mm), roll about the
    viewing axis (rad), and the [0, 1] blend towards the next key pose."""
    centre = np.array([90.0 * math.sin(0.7 * t), 50.0 * math.sin(1.1 * t + 0.4)])
    z = 520.0 + 80.0 * math.sin(0.5 * t)
    roll = 0.35 * math.sin(0.9 * t)
    blend = 0.5 - 0.5 * math.cos(math.pi * (t % 1.0))
    return centre, z, roll, blend


def _wall() -> np.ndarray:
    """A soft grey-blue gradient wall (uint8 RGB), a little larger than the frame so it can drift."""
    h, w = int(HEIGHT * 1.5), int(WIDTH * 1.5)
    xs = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :, None]
    ys = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    wall = np.array([70.0, 80.0, 95.0], np.float32) + 60.0 * xs + 35.0 * ys
    return np.broadcast_to(wall, (h, w, 3)).astype(np.uint8)


@functools.lru_cache(maxsize=1)
def demo_sequence():
    """The whole demo as a ``models.synth`` sequence (RGB-D frames and their ground truth), rendered
    once per process."""
    from scipy.spatial.transform import Rotation

    from models.pose_prior import sample_poses
    from models.synth.backgrounds import Backgrounds
    from models.synth.depth_scene import PLAIN_SCENE
    from models.synth.pose_bank import procedural_bank
    from models.synth.render_depth import WHOLE_ARM_MM, DepthOptions
    from models.synth.sequence import FACING_CAMERA, SequenceGenerator, SequenceOptions

    frames = int(SECONDS * FPS)
    rng = np.random.default_rng(2026)
    keys = np.concatenate([np.zeros((1, 45)), sample_poses(KEY_POSES - 1, rng)])  # starts with an open hand
    times = np.arange(frames) / FPS
    theta, rotvecs, centres = np.empty((frames, 45)), np.empty((frames, 3)), np.empty((frames, 3))
    for i, t in enumerate(times):
        centre, z, roll, blend = _hand_pose(t)
        k = int(t) % KEY_POSES
        theta[i] = (1.0 - blend) * keys[k] + blend * keys[(k + 1) % KEY_POSES]
        tilt = Rotation.from_rotvec([0.25 * math.sin(0.6 * t), 0.3 * math.sin(0.8 * t + 1.0), roll])
        rotvecs[i] = (tilt * FACING_CAMERA).as_rotvec()
        centres[i] = (centre[0], centre[1], z)
    options = SequenceOptions(kind="depth", intrinsics=DEMO_INTRINSICS, colour=True,
                              depth=DepthOptions(full_frame=True, background="plane", forearm_mm=WHOLE_ARM_MM,
                                                 static_background=True, sensor=DEMO_SENSOR, scene=PLAIN_SCENE))
    generator = SequenceGenerator(options, seed=6, bank=procedural_bank(64, seed=0),
                                  backgrounds=Backgrounds(images=[_wall()]))
    return generator.render_motion(theta, np.zeros((frames, 10)), rotvecs, centres)


def demo_truth():
    """Ground truth of the demo frames (``models.synth.sequence.SequenceTruth``: camera-space mm)."""
    return demo_sequence().truth


def demo_frame_index(t: float) -> int:
    """The demo frame shown at ``t`` seconds (the sequence plays forwards, then backwards, and loops)."""
    n = int(SECONDS * FPS)
    period = 2 * n - 2
    phase = int(round(t * FPS)) % period
    return phase if phase < n else period - phase


def render_demo_frame(t: float, kind: str = "rgbd") -> tuple[np.ndarray | None, np.ndarray | None]:
    """RGB (HxWx3 uint8) and depth (HxW uint16 mm) of the demo at ``t`` seconds; ``kind`` picks
    ``rgb``, ``depth`` or ``rgbd``."""
    if kind not in ("rgb", "depth", "rgbd"):
        raise ValueError(f"demo kind must be rgb, depth or rgbd, got {kind!r}")
    seq = demo_sequence()
    i = demo_frame_index(t)
    rgb = seq.rgb[i].copy() if kind in ("rgb", "rgbd") else None
    depth = seq.depth[i].copy() if kind in ("depth", "rgbd") else None
    return rgb, depth


def prerender() -> None:
    """Render the demo now (benchmarks and tests: keep rendering out of what they measure)."""
    demo_sequence()


class DemoSource(CaptureSource):
    """Plays the demo at 30 fps (looped when ``loop``; one pass is ``seconds`` long, at most the
    rendered 4 s); real time or as fast as the consumer reads (``realtime=False``, then lossless and
    with media timestamps)."""

    def __init__(self, *, realtime: bool = True, loop: bool = True, kind: str = "rgbd",
                 seconds: float = SECONDS, queue_size: int = 2) -> None:
        if kind not in ("rgb", "depth", "rgbd"):
            raise ValueError(f"demo kind must be rgb, depth or rgbd, got {kind!r}")
        super().__init__("demo", realtime=realtime, queue_size=queue_size)
        self.loop = loop
        self.kind = kind
        self.num_frames = max(1, int(min(seconds, SECONDS) * FPS))
        self._played = 0

    def _open(self) -> None:
        demo_sequence()  # render before the first frame is timed
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
        rgb, depth = render_demo_frame(i / FPS, self.kind)
        timestamp = time.monotonic() if self.realtime else media_time
        return self._make_frame(timestamp, rgb, depth)
