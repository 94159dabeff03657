"""Training sequences for the lifter: hand motions of the pose prior, seen as MediaPipe would report them.

Why no images: the lifter sees only landmarks, so a batch is a pose sequence through the hand model's kinematic
chain (`models.synth.ik.JointChain`) plus a model of the detector's errors — hundreds of sequences per
step, millions per hour. Everything the product meets is drawn: any orientation (palm and back, any in-plane
turn; uniform over rotations), 0.3-1.1 m from a camera of 450-1100 px focal length, near the image centre or
off to the side, still hands and moving ones. Left hands need nothing extra: the engine mirrors them into
right ones before the features are made, exactly as `landmark_features` does here.

The detector model (`KeypointNoise`), per sequence: per-joint jitter of 0.5-3 % of the hand's extent, a
temporally correlated drift, a constant per-joint offset (the detector's joints are not exactly ours), the
relative depth and metric depth flattened or stretched (MediaPipe's depth is the least sure), occasional
swapped neighbouring fingers and dropped (folded-in) fingers for a stretch of frames; and a share of
sequences left clean.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from models.lifter.features import landmark_features
from models.pose_prior import sample_poses

FINGER_TIPS = {1: (6, 7, 8), 2: (10, 11, 12), 3: (14, 15, 16), 4: (18, 19, 20)}  # index..pinky: PIP, DIP, TIP
MCP = {1: 5, 2: 9, 3: 13, 4: 17}


@dataclass
class MotionOptions:
    """The motions: ``length`` frames through ``keyframes`` prior poses (``still`` share: one pose held)."""

    length: int = 16
    keyframes: int = 3
    still: float = 0.25
    depth_m: tuple[float, float] = (0.3, 1.1)
    focal_px: tuple[float, float] = (450.0, 1100.0)
    off_axis_deg: float = 25.0
    max_turn_deg: float = 90.0
    beta_range: float = 2.0


@dataclass
class KeypointNoise:
    """The detector's errors; fractions are of the hand's 2-D extent, metric ones in metres."""

    clean: float = 0.1
    jitter: tuple[float, float] = (0.005, 0.03)
    drift: float = 0.015
    bias: float = 0.02
    depth_scale: tuple[float, float] = (0.5, 1.5)
    world_jitter_m: tuple[float, float] = (0.002, 0.008)
    world_drift_m: float = 0.004
    world_bias_m: float = 0.004
    swap: float = 0.05
    drop: float = 0.05


@dataclass
class LifterBatch:
    """Features (B, T, 126) and the truth: θ (B, T, 45), β (B, 10), root-relative joints in camera axes
    (B, T, 21, 3) metres, global rotation (B, T, 3, 3), true landmarks in box coordinates (B, T, 21, 2), and
    the box's half side in pixels (B, T), which turns box units back into pixels."""

    features: torch.Tensor
    theta: torch.Tensor
    beta: torch.Tensor
    joints: torch.Tensor
    rotation: torch.Tensor
    uv: torch.Tensor
    half: torch.Tensor


def _ar_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: np.ndarray, rho: float = 0.8) -> np.ndarray:
    """AR(1) noise along axis 1 (time) with stationary std ``sigma`` (broadcast over (B, 1, ...))."""
    eps = rng.normal(size=shape)
    out = np.empty(shape)
    out[:, 0] = eps[:, 0]
    for t in range(1, shape[1]):
        out[:, t] = rho * out[:, t - 1] + np.sqrt(1 - rho * rho) * eps[:, t]
    return out * sigma


def _windows(rng: np.random.Generator, b: int, t: int, prob: float) -> np.ndarray:
    """(B, T) bools: for a ``prob`` share of sequences, one random stretch of frames."""
    on = rng.random(b) < prob
    start = rng.integers(0, t, b)
    stop = start + rng.integers(1, t + 1, b)
    frames = np.arange(t)[None]
    return on[:, None] & (frames >= start[:, None]) & (frames < stop[:, None])


def _finger_faults(rng: np.random.Generator, points: list[np.ndarray], noise: KeypointNoise) -> None:
    """Swap two neighbouring fingers, or fold one in, for a stretch of frames (same in every array)."""
    b, t = points[0].shape[:2]
    swap = _windows(rng, b, t, noise.swap)
    first = rng.integers(1, 4, b)
    drop = _windows(rng, b, t, noise.drop)
    gone = rng.integers(1, 5, b)
    for bi, ti in zip(*np.nonzero(swap)):
        a, c = list(FINGER_TIPS[first[bi]]), list(FINGER_TIPS[first[bi] + 1])
        for p in points:
            p[bi, ti, a + c] = p[bi, ti, c + a]
    for bi, ti in zip(*np.nonzero(drop)):
        idx, mcp = list(FINGER_TIPS[gone[bi]]), MCP[gone[bi]]
        for p in points:
            p[bi, ti, idx] = p[bi, ti, mcp] + 0.3 * (p[bi, ti, idx] - p[bi, ti, mcp])


class LifterData:
    """``batch(rng, size)`` -> a `LifterBatch`; the hand model's joints come from ``chain`` (a `JointChain`)."""

    def __init__(self, chain, motion: MotionOptions = MotionOptions(), noise: KeypointNoise = KeypointNoise()) -> None:
        self.chain, self.motion, self.noise = chain, motion, noise

    def batch(self, rng: np.random.Generator, size: int) -> LifterBatch:
        m, b, t = self.motion, size, self.motion.length
        theta, beta, rot = self._motion(rng, b, t)
        with torch.no_grad():
            joints = self.chain(torch.tensor(theta.reshape(b * t, 45), dtype=torch.float32),
                                torch.tensor(np.repeat(beta, t, 0), dtype=torch.float32),
                                torch.tensor(Rotation.from_matrix(rot.reshape(-1, 3, 3)).as_rotvec(),
                                             dtype=torch.float32))
        rel = joints.numpy().reshape(b, t, 21, 3).astype(np.float64)
        rel = rel - rel[:, :, :1]
        # camera: the wrist moves in a straight line between two places in view
        depth = rng.uniform(*m.depth_m, (b, 2))
        off = np.tan(np.radians(m.off_axis_deg)) * rng.uniform(-1, 1, (b, 2, 2)) * depth[..., None]
        ends = np.concatenate([off, depth[..., None]], -1)  # (B, 2, 3)
        w = np.linspace(0.0, 1.0, t)[None, :, None]
        wrist = ends[:, :1] * (1 - w) + ends[:, 1:] * w  # (B, T, 3)
        cam = rel + wrist[:, :, None]
        cam[..., 2] = np.maximum(cam[..., 2], 0.1)
        focal = rng.uniform(*m.focal_px, b)[:, None, None, None]
        px = focal * cam[..., :2] / cam[..., 2:]
        rel_z = focal[..., 0] * (cam[..., 2] - cam[..., :1, 2]) / cam[..., :1, 2]
        seen_px, seen_z, seen_world = self._detector(rng, px, rel_z, rel)
        features, centre, half = landmark_features(seen_px, seen_z, seen_world)
        uv = (px - centre[:, :, None]) / half[:, :, None, None]
        f = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
        return LifterBatch(f(features), f(theta), f(beta), f(rel), f(rot), f(uv), f(half))

    def _motion(self, rng: np.random.Generator, b: int, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m = self.motion
        keys = sample_poses(b * m.keyframes, rng).reshape(b, m.keyframes, 45)
        still = rng.random(b) < m.still
        keys[still] = keys[still, :1]
        # smooth passage through the key poses: smoothstep between neighbours
        pos = np.linspace(0.0, m.keyframes - 1, t)
        lo = np.minimum(pos.astype(int), m.keyframes - 2) if m.keyframes > 1 else np.zeros(t, int)
        frac = pos - lo
        frac = frac * frac * (3 - 2 * frac)
        theta = (keys[:, lo] * (1 - frac)[None, :, None]
                 + keys[:, np.minimum(lo + 1, m.keyframes - 1)] * frac[None, :, None])
        beta = rng.uniform(-m.beta_range, m.beta_range, (b, 10))
        start = Rotation.random(b, random_state=rng)
        axis = rng.normal(size=(b, 3))
        axis /= np.linalg.norm(axis, axis=1, keepdims=True)
        turn = axis * np.radians(rng.uniform(0, m.max_turn_deg, b))[:, None]
        turn[still] *= 0.1
        steps = np.linspace(0.0, 1.0, t)
        rot = np.stack([(Rotation.from_rotvec(turn * s) * start).as_matrix() for s in steps], 1)  # (B, T, 3, 3)
        return theta, beta, rot

    def _detector(self, rng: np.random.Generator, px: np.ndarray, rel_z: np.ndarray, rel: np.ndarray):
        """What MediaPipe would report for these true landmarks (px, relative depth px, metric m)."""
        n, b = self.noise, px.shape[0]
        seen_px, clean, jitter, extent = _noise_2d(rng, px, n)
        scale = rng.uniform(*n.depth_scale, b)[:, None, None]
        z = rel_z * scale + (rng.normal(size=rel_z.shape) * 2.0 * jitter[..., 0]) * extent[..., 0]
        world = rel.copy()
        mean_z = world[..., 2].mean(axis=2, keepdims=True)
        world[..., 2] = mean_z + (world[..., 2] - mean_z) * scale
        wj = rng.uniform(*n.world_jitter_m, b)[:, None, None, None]
        world = world + rng.normal(size=rel.shape) * wj + _ar_noise(rng, rel.shape, n.world_drift_m) \
            + rng.normal(0, n.world_bias_m, (b, 1, 21, 3))
        seen = [seen_px, np.where(clean[..., 0], rel_z, z)[..., None], np.where(clean, rel, world)]
        _finger_faults(rng, seen, n)
        return seen[0], seen[1][..., 0], seen[2]


def detector_points_2d(rng: np.random.Generator, points: np.ndarray, noise: KeypointNoise = KeypointNoise()
                       ) -> np.ndarray:
    """True 2-D landmarks (B, T, 21, 2), in any unit (pixels, crop coordinates) -> what the detector would report:
    the 2-D part of `KeypointNoise` (jitter, drift and bias in fractions of each frame's hand extent; a ``clean``
    share of sequences without them) and its finger faults. The lifter's own batches draw the same errors along
    with the depth ones; SeqHAND-Net's keypoint heatmaps are drawn from these points."""
    seen, _, _, _ = _noise_2d(rng, np.asarray(points, dtype=np.float64), noise)
    _finger_faults(rng, [seen], noise)
    return seen


def _noise_2d(rng: np.random.Generator, px: np.ndarray, n: KeypointNoise
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Jitter, drift and per-sequence bias on (B, T, 21, 2) points -> the seen points (a new array) and what the
    depth errors reuse: the clean sequences, the jitter level (both (B, 1, 1, 1)) and the extent (B, T, 1, 1)."""
    b = px.shape[0]
    extent = (px.max(axis=2) - px.min(axis=2)).max(axis=-1)[:, :, None, None]
    clean = (rng.random(b) < n.clean)[:, None, None, None]
    jitter = rng.uniform(*n.jitter, b)[:, None, None, None]
    noise_2d = (rng.normal(size=px.shape) * jitter + _ar_noise(rng, px.shape, n.drift)
                + rng.normal(0, n.bias, (b, 1, 21, 2))) * extent
    return np.where(clean, px, px + noise_2d), clean, jitter, extent
