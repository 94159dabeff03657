"""What a depth camera sees around a hand besides the wall: a sleeve on the forearm, the body behind a hand
held close, a table under it. Chosen per sequence, fixed in camera space for the sequence.

Why: real depth crops (shared/data/real-hands/depth-sr305) show a torso 150–500 mm behind the hand and arms in
sleeves; a network that only saw hands in front of a far plane takes those for fingers. All draws come from the
caller's own stream, so the hand's motion and colour frames stay those of the old generator.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calibration.intrinsics import CameraIntrinsics


@dataclass(frozen=True)
class SceneOptions:
    """Chance per sequence of each scene element (0 everywhere: the plain scene of the first generator)."""

    sleeve: float = 0.5  # a wider cylinder over the forearm, from a few cm above the wrist
    body: float = 0.35  # a torso (vertical cylinder) 150–500 mm behind the hand
    table: float = 0.25  # a plane under and behind the hand
    sleeve_start_mm: tuple[float, float] = (30.0, 100.0)  # from the wrist up the forearm
    sleeve_extra_mm: tuple[float, float] = (6.0, 20.0)  # sleeve radius over the forearm's
    body_gap_mm: tuple[float, float] = (100.0, 500.0)  # torso surface behind the hand's centre

    def __post_init__(self) -> None:
        for name in ("sleeve", "body", "table"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"scene {name} must be a probability in [0, 1], got {getattr(self, name)}")


PLAIN_SCENE = SceneOptions(sleeve=0.0, body=0.0, table=0.0)


@dataclass(frozen=True)
class Scene:
    """One sequence's scene elements in camera mm (None: absent)."""

    sleeve: tuple[float, float] | None = None  # (start from the wrist, extra radius), mm
    body: tuple[float, float, float, float] | None = None  # torso axis x, surface z, radius, top y
    table: tuple[np.ndarray, np.ndarray, float, float] | None = None  # point, unit normal, near z, far z


def draw_scene(options: SceneOptions, centre_mm: np.ndarray, rng: np.random.Generator) -> Scene:
    """The scene of one sequence whose hand starts at `centre_mm`; always the same number of draws."""
    u = rng.random(3)
    start, extra = rng.uniform(*options.sleeve_start_mm), rng.uniform(*options.sleeve_extra_mm)
    gap, radius, side, top = rng.uniform(*options.body_gap_mm), rng.uniform(140, 220), rng.uniform(-1, 1), \
        rng.uniform(-60, 160)
    drop, tilt, near, depth = rng.uniform(40, 160), rng.uniform(0, 60), rng.uniform(80, 300), rng.uniform(300, 900)
    x, y, z = (float(v) for v in centre_mm)
    body = (x + side * radius * 0.8, z + gap, radius, y + top - 250.0) if u[1] < options.body else None
    table = None
    if u[2] < options.table:
        a = np.radians(tilt)  # table normal points up (−y), turned towards the camera by the camera's tilt
        table = (np.array([x, y + drop, z]), np.array([0.0, -np.cos(a), -np.sin(a)]), z - near, z + depth)
    return Scene(sleeve=(start, extra) if u[0] < options.sleeve else None, body=body, table=table)


def _rays(k: CameraIntrinsics) -> tuple[np.ndarray, np.ndarray]:
    u = (np.arange(k.width, dtype=np.float32) - k.cx) / k.fx
    v = (np.arange(k.height, dtype=np.float32) - k.cy) / k.fy
    return np.broadcast_to(u[None, :], (k.height, k.width)), np.broadcast_to(v[:, None], (k.height, k.width))


def scene_depth(scene: Scene, k: CameraIntrinsics) -> np.ndarray | None:
    """(H, W) float32 depth of the body and table seen by camera `k` (0 = neither), None if the scene has none."""
    if scene.body is None and scene.table is None:
        return None
    a, b = _rays(k)  # ray through a pixel: (a, b, 1) t, so t is the depth
    out = np.full((k.height, k.width), np.inf, np.float32)
    if scene.body is not None:  # vertical cylinder |(x, z) − (x0, zc)| = r, nearest intersection
        x0, z_surface, r, top = scene.body
        zc = z_surface + r
        # (a t − x0)² + (t − zc)² = r²  ->  A t² − 2 B t + C = 0
        qa, qb, qc = a * a + 1, a * x0 + zc, x0 * x0 + zc * zc - r * r
        disc = qb * qb - qa * qc
        t = (qb - np.sqrt(np.maximum(disc, 0))) / qa
        hit = (disc > 0) & (b * t > top)
        out = np.where(hit, np.minimum(out, t), out)
    if scene.table is not None:
        point, normal, near, far = scene.table
        denom = normal[0] * a + normal[1] * b + normal[2]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.float32(point @ normal) / denom
        hit = (t > near) & (t < far)
        out = np.where(hit, np.minimum(out, t), out)
    return np.where(np.isfinite(out), out, 0).astype(np.float32)


def _widen(ring: np.ndarray, extra_m: float) -> np.ndarray:
    out = ring.copy()
    radius = np.linalg.norm(out[:, 1:], axis=1, keepdims=True)
    out[:, 1:] *= (radius + extra_m) / radius
    return out


def sleeve_mesh(start_m: float, extra_m: float, length_m: float, segments: int = 12
                ) -> tuple[np.ndarray, np.ndarray]:
    """A closed cylinder over `forearm_mesh` (same frame: +x from the wrist up the arm; metres) from `start_m`
    to the arm's far end, `extra_m` wider than the forearm, wound like the forearm."""
    from models.synth.render_depth import forearm_mesh

    arm, faces = forearm_mesh(segments, length_m)
    wrist, far = arm[:segments], arm[segments:2 * segments]
    start = wrist + min(start_m / length_m, 0.95) * (far - wrist)
    caps = [[length_m, 0.0, 0.0], [start[0, 0], 0.0, 0.0]]
    verts = np.concatenate([_widen(start, extra_m), _widen(far, extra_m), caps])
    return verts, faces  # same ring layout as the forearm, so the same faces


def sleeve_depth(sleeve: tuple[float, float], forearm_mm: float, faces: np.ndarray, wrist: np.ndarray,
                 mats: np.ndarray, centres: np.ndarray, cameras: list, front: int) -> np.ndarray:
    """(T, H, W) depth of a sleeve (`Scene.sleeve`: start from the wrist and extra radius, mm) over a forearm of
    `forearm_mm`, meshed like it (`faces`), for a hand whose wrist is at `wrist` (T, 1, 3) m from the joints'
    centroid, turned by `mats` (T, 3, 3) and placed at `centres` (T, 3) mm, seen by `cameras`."""
    from models.synth.render_depth import render_depth_frames

    verts, _ = sleeve_mesh(sleeve[0] / 1000.0, sleeve[1] / 1000.0, forearm_mm / 1000.0)
    points = (verts[None] + wrist) @ mats.transpose(0, 2, 1) * 1000.0 + centres[:, None]
    return render_depth_frames(points, faces, cameras, front).depth_image()
