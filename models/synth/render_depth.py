"""Depth hand frames for CADSTN: metric depth (mm) from a pinhole camera, hand plus forearm stub, sensor noise,
optional background plane and clutter; full 640×480 frames or DeepPrior crops rendered directly.

Why render crops directly: `models.depth_crop.crop_depth` samples the cube around a centre on a size×size grid
with nearest lookups, which is the same as a pinhole camera with intrinsics `crop_intrinsics` — so rendering
with that camera gives the crop the engine would cut, at a fraction of the cost of a full frame.
Sensor models (`sensor`): see `models.synth.depth_sensor`; scene elements around the hand (`scene`): see
`models.synth.depth_scene`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calibration.intrinsics import CameraIntrinsics
from calibration.projection import project_mm
from models.synth.depth_scene import SceneOptions
from models.synth.depth_sensor import SENSORS
from models.synth.raster import Raster, rasterize

WHOLE_ARM_MM = 450.0  # forearm length for full frames: long enough to leave the image, as a real arm does
# A RealSense D435 depth stream at 640×480 (typical factory calibration).
D435_INTRINSICS = CameraIntrinsics(fx=615.0, fy=615.0, cx=319.5, cy=239.5, width=640, height=480)
BACKGROUNDS = ("none", "plane", "clutter")


@dataclass(frozen=True)
class DepthOptions:
    size: int = 128  # crop side when `full_frame` is False
    full_frame: bool = False  # True: whole frames of `intrinsics`' size
    cube_mm: float = 250.0  # DeepPrior cube (models.depth_crop.DEFAULT_CUBE_MM)
    distance_mm: tuple[float, float] = (350.0, 700.0)  # hand distance from the camera
    background: str = "plane"  # none | plane | clutter (plane plus boxes)
    noise: bool = True
    # depth_sensor profile: simple (the first D435-like stand-in) | active_stereo | structured_light |
    # mixed (one of the realistic two per sequence)
    sensor: str = "mixed"
    scene: SceneOptions = SceneOptions()  # sleeve, body, table: chance of each per sequence (PLAIN_SCENE: none)
    forearm_mm: float = 160.0  # forearm stub length (crops see ~10 cm of it; full frames may want a whole arm)
    static_background: bool = False  # full frames: one background for the whole sequence (a fixed camera)
    # crops: this share of frames is cut around a point on the forearm's axis U(*off_hand_mm) past the wrist
    # (negative: inside the palm's heel), as the live depth detector cuts a hand whose arm it took for the hand
    # (give the forearm the length such a crop sees)
    off_hand_share: float = 0.0
    off_hand_mm: tuple[float, float] = (-20.0, 40.0)

    def __post_init__(self) -> None:
        if self.background not in BACKGROUNDS:
            raise ValueError(f"depth background must be one of {', '.join(BACKGROUNDS)}, got {self.background!r}")
        if self.size < 16 or self.cube_mm <= 0:
            raise ValueError(f"depth crop size must be >= 16 and cube_mm > 0, got {self.size}, {self.cube_mm}")
        if self.forearm_mm <= 0:
            raise ValueError(f"forearm_mm must be > 0, got {self.forearm_mm}")
        if not 0.0 <= self.off_hand_share <= 1.0 or not self.off_hand_mm[0] <= self.off_hand_mm[1]:
            raise ValueError(f"off_hand_share must lie in [0, 1] and off_hand_mm be a range, got "
                             f"{self.off_hand_share}, {self.off_hand_mm}")
        if self.sensor not in SENSORS:
            raise ValueError(f"depth sensor must be one of {', '.join(SENSORS)}, got {self.sensor!r}")


def crop_intrinsics(intrinsics: CameraIntrinsics, centre_mm: np.ndarray, cube_mm: float, size: int
                    ) -> tuple[CameraIntrinsics, tuple[float, float, float, float]]:
    """The pinhole camera seeing exactly the DeepPrior crop of `models.depth_crop.crop_depth`, and its box.

    crop_depth samples source pixel u = uc + ((i + 0.5) / size · 2 − 1) · half_u with half_u = cube/2 · fx / zc;
    solving for i gives a pinhole camera with f' = size · zc / cube.
    """
    x, y, z = (float(v) for v in centre_mm)
    uc, vc = intrinsics.fx * x / z + intrinsics.cx, intrinsics.fy * y / z + intrinsics.cy
    f = size * z / cube_mm
    half_u, half_v = cube_mm / 2 * intrinsics.fx / z, cube_mm / 2 * intrinsics.fy / z
    k = CameraIntrinsics(fx=f, fy=f, cx=(intrinsics.cx - uc) * f / intrinsics.fx + size / 2 - 0.5,
                         cy=(intrinsics.cy - vc) * f / intrinsics.fy + size / 2 - 0.5, width=size, height=size)
    return k, (uc - half_u, vc - half_v, uc + half_u, vc + half_v)


def forearm_mesh(segments: int = 12, length_m: float = 0.16) -> tuple[np.ndarray, np.ndarray]:
    """A closed elliptic cone along +x from the origin (the model frame's forearm direction), metres.

    In MANO's frame the fingers point along −x from the wrist, so the forearm leaves the wrist along +x;
    it starts 1 cm inside the hand so the joint is closed, is 5.6 × 4.4 cm wide there and widens a little.
    """
    a = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    ring = lambda x, ry, rz: np.stack([np.full_like(a, x), ry * np.cos(a), rz * np.sin(a)], axis=1)  # noqa: E731
    verts = np.concatenate([ring(-0.01, 0.022, 0.028), ring(length_m, 0.03, 0.036),
                            [[length_m, 0.0, 0.0], [-0.01, 0.0, 0.0]]])
    i = np.arange(segments)
    j = (i + 1) % segments
    sides = np.concatenate([np.stack([i, j, segments + i], 1), np.stack([j, segments + j, segments + i], 1)])
    far_cap = np.stack([segments + i, segments + j, np.full(segments, 2 * segments)], 1)
    wrist_cap = np.stack([j, i, np.full(segments, 2 * segments + 1)], 1)
    return verts, np.concatenate([sides, far_cap, wrist_cap]).astype(np.int64)


def render_depth_frames(points_mm: np.ndarray, faces: np.ndarray, cameras: list[CameraIntrinsics],
                        front: int = 0) -> Raster:
    """Rasterize T camera-space meshes (T, V, 3; mm), frame t seen by `cameras[t]` (all of one image size;
    `front`: see `raster.front_sign`)."""
    screen = np.empty_like(points_mm, dtype=np.float64)
    for t, k in enumerate(cameras):
        screen[t, :, :2] = project_mm(points_mm[t], k)
    screen[..., 2] = points_mm[..., 2]
    return rasterize(screen, faces, cameras[0].height, cameras[0].width, perspective=True, front=front)


def background_depth(k: CameraIntrinsics, hand_far_mm: float, rng: np.random.Generator, kind: str) -> np.ndarray:
    """(H, W) float32 depth of the scene behind the hand (0 = nothing): a tilted plane, plus boxes for clutter."""
    out = np.zeros((k.height, k.width), dtype=np.float32)
    if kind == "none":
        return out
    u = (np.arange(k.width, dtype=np.float32) - k.cx) / k.fx
    v = (np.arange(k.height, dtype=np.float32) - k.cy) / k.fy
    normal = np.array([rng.uniform(-0.4, 0.4), rng.uniform(-0.4, 0.4), -1.0])
    normal /= np.linalg.norm(normal)
    dist = hand_far_mm + rng.uniform(80.0, 600.0)  # plane point on the optical axis
    denom = normal[0] * u[None, :] + normal[1] * v[:, None] + normal[2]
    t = (normal[2] * dist) / denom
    out = np.where((t > 0) & (t < 10000), t, 0).astype(np.float32)
    if kind == "clutter":
        for _ in range(int(rng.integers(1, 4))):
            w, h = rng.integers(k.width // 8, k.width // 2), rng.integers(k.height // 8, k.height // 2)
            x0, y0 = rng.integers(0, k.width - w + 1), rng.integers(0, k.height - h + 1)
            z = hand_far_mm + rng.uniform(60.0, 300.0)
            box = out[y0:y0 + h, x0:x0 + w]
            np.copyto(box, np.where((box == 0) | (box > z), np.float32(z), box))
    return out
