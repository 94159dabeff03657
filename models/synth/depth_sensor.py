"""Depth sensor models: what a real depth camera makes of the ideal depth the renderer draws.

Why: a depth network trained on clean renders fails on real frames, whose hands have missing bands beside
them, eroded or fattened fingers, flying pixels and holes. Two triangulating sensors are modelled from their
geometry, plus the older simple stand-in:

- `ACTIVE_STEREO` (RealSense D4xx): two imagers 50 mm apart, the left one the reference, so the band the right
  imager cannot see is invalid on the *left* of foreground objects; ~0.08 px subpixel noise, a little
  speckle (noise correlated over the matching window).
- `STRUCTURED_LIGHT` (Kinect v1 / SR305): projector beside the camera, shadow on the *right* of foreground
  objects in the SR305 frames of shared/data/real-hands (three gaps in four sit there), 1/8 px disparity
  steps, smooth surfaces (a large correlation window), eroded edges, thin fingers lost or fattened by the
  window, nothing beyond the working range.
- `SIMPLE`: the first D435-like stand-in (quantisation, z² noise, edge dropout), kept bit for bit because
  the old held-out numbers were measured with it.

Every length in sensor pixels is converted to the rendered image's pixels with `pixel_scale` (sensor focal
length / image focal length): crops are rendered by pinhole cameras of other focal lengths.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

EDGE_JUMP_MM = 25.0  # a depth step larger than this between neighbours is an object edge
SENSORS = ("simple", "active_stereo", "structured_light", "mixed")  # mixed: one realistic profile per sequence


@dataclass(frozen=True)
class SimpleSensor:
    """The first D435-like stand-in: quantisation step ∝ z², Gaussian noise, dropout along edges."""

    baseline_mm: float = 50.0  # stereo baseline and subpixel accuracy set the quantisation step
    subpixel: float = 0.08
    edge_dropout: float = 0.6  # chance a pixel on a depth edge is missing
    random_dropout: float = 0.003


@dataclass(frozen=True)
class TriangulationSensor:
    """A sensor that triangulates between a reference camera and a second view (imager or projector)."""

    name: str
    baseline_mm: float  # reference camera to the second view, along +x (right) or −x (left): `shadow_side`
    shadow_side: str  # "left" | "right": where the invalid band lies beside a foreground object
    disparity_noise_px: float  # σ of the disparity error, sensor pixels (σ_z = z² σ_d / (f b))
    disparity_step_px: float  # disparity quantisation, sensor pixels
    window_px: float  # correlation window, sensor pixels: noise correlation, fattening and thin-structure loss
    fatten: float  # chance that background beside a foreground edge takes the foreground depth (window)
    thin_loss: float  # chance that a structure thinner than the window is missing (per blob)
    flying_px: float  # width of the band of mixed depths along edges, sensor pixels
    erode_px: float  # foreground pixels lost along edges, sensor pixels
    grazing_deg: float  # surfaces turned further than this from the view ray are missing
    hole_rate: float  # share of pixels in random holes
    hole_px: float  # hole blob size, sensor pixels
    range_mm: tuple[float, float]  # nothing is measured outside this range


ACTIVE_STEREO = TriangulationSensor(
    name="active_stereo", baseline_mm=50.0, shadow_side="left", disparity_noise_px=0.08, disparity_step_px=1 / 32,
    window_px=5.0, fatten=0.3, thin_loss=0.15, flying_px=1.5, erode_px=0.5, grazing_deg=78.0,
    hole_rate=0.002, hole_px=5.0, range_mm=(150.0, 6000.0))
STRUCTURED_LIGHT = TriangulationSensor(
    name="structured_light", baseline_mm=75.0, shadow_side="right", disparity_noise_px=0.05,
    disparity_step_px=1 / 8, window_px=9.0, fatten=0.5, thin_loss=0.3, flying_px=1.0, erode_px=1.5,
    grazing_deg=72.0, hole_rate=0.0015, hole_px=8.0, range_mm=(200.0, 1500.0))
SIMPLE = SimpleSensor()
PROFILES: dict[str, SimpleSensor | TriangulationSensor] = {
    "simple": SIMPLE, "active_stereo": ACTIVE_STEREO, "structured_light": STRUCTURED_LIGHT}
REALISTIC = ("active_stereo", "structured_light")


def choose_profile(sensor: str, rng: np.random.Generator) -> SimpleSensor | TriangulationSensor:
    """The profile of one sequence: `sensor` itself, or for "mixed" one realistic profile drawn from `rng`."""
    if sensor not in SENSORS:
        raise ValueError(f"depth sensor must be one of {', '.join(SENSORS)}, got {sensor!r}")
    if sensor == "mixed":
        return PROFILES[REALISTIC[int(rng.integers(len(REALISTIC)))]]
    return PROFILES[sensor]


def simple_noise(depth: np.ndarray, f_sensor: float, rng: np.random.Generator, sensor: SimpleSensor) -> np.ndarray:
    """The simple model: quantisation, Gaussian noise and dropouts on float depth (mm, 0 = missing) -> uint16."""
    z = depth.astype(np.float32)
    valid = z > 0
    step = z * z * np.float32(sensor.subpixel / (f_sensor * sensor.baseline_mm))
    sigma = np.float32(0.4) + z * z * np.float32(1.5e-6)
    noisy = z + rng.standard_normal(z.shape, dtype=np.float32) * sigma
    noisy = np.where(step > 0, np.round(noisy / np.maximum(step, 1e-6)) * step, noisy)
    jump = edge_mask(z)
    drop = (jump & (rng.random(z.shape, dtype=np.float32) < sensor.edge_dropout)) \
        | (rng.random(z.shape, dtype=np.float32) < sensor.random_dropout)
    out = np.where(valid & ~drop, noisy, 0)
    return np.clip(np.round(out), 0, 65535).astype(np.uint16)


def edge_mask(z: np.ndarray, jump_mm: float = EDGE_JUMP_MM) -> np.ndarray:
    """Pixels with a depth jump larger than `jump_mm` to any 4-neighbour (a missing neighbour counts)."""
    jump = np.zeros(z.shape, bool)
    across = np.abs(np.diff(z, axis=1)) > jump_mm
    jump[:, 1:] |= across
    jump[:, :-1] |= across
    down = np.abs(np.diff(z, axis=0)) > jump_mm
    jump[1:] |= down
    jump[:-1] |= down
    return jump


def shadow_mask(z: np.ndarray, f_image: float, baseline_mm: float, side: str) -> np.ndarray:
    """Pixels the second view cannot see: hidden behind nearer surfaces or turned away from it.

    With the second view at x = ±b, pixel u appears there at u' = u ∓ f b / z. Scanning from the side away
    from the second view, a pixel is hidden when some pixel beyond it in the scan already reached a u' past
    its own; the band behind an edge is then f b (1/z_near − 1/z_far) pixels wide, as the geometry says.
    """
    zz = np.where(z > 0, z, np.inf).astype(np.float32)
    shift = np.float32(f_image * baseline_mm) / zz
    u = np.arange(z.shape[1], dtype=np.float32)
    if side == "left":  # second view on the right: u' = u − fb/z; hidden if a pixel to the right has smaller u'
        up = (u - shift)[:, ::-1]
        reach = np.minimum.accumulate(up, axis=1)
        hidden = np.empty_like(up, dtype=bool)
        hidden[:, 0] = False
        hidden[:, 1:] = reach[:, :-1] < up[:, 1:] - 1e-3
        hidden = hidden[:, ::-1]
    else:  # second view on the left: u' = u + fb/z; hidden if a pixel to the left has larger u'
        up = u + shift
        reach = np.maximum.accumulate(up, axis=1)
        hidden = np.empty_like(up, dtype=bool)
        hidden[:, 0] = False
        hidden[:, 1:] = reach[:, :-1] > up[:, 1:] + 1e-3
    return hidden & (z > 0)


def grazing_mask(z: np.ndarray, f_image: float, max_deg: float) -> np.ndarray:
    """Surfaces nearly parallel to the view ray (angle from the depth gradient; edges excluded)."""
    gx, gy = np.zeros_like(z), np.zeros_like(z)  # central differences, doubled
    gx[:, 1:-1] = z[:, 2:] - z[:, :-2]
    gy[1:-1] = z[2:] - z[:-2]
    # a step of one pixel is z / f mm sideways: tan(angle) = |∇z| f / z
    tan2 = (gx * gx + gy * gy) * np.float32(0.25) * np.float32(f_image * f_image) / np.maximum(z * z, 1.0)
    limit = np.float32(np.tan(np.radians(max_deg)) ** 2)
    return (tan2 > limit) & (z > 0)


def blob_mask(shape: tuple[int, int], rate: float, blob_image_px: float, rng: np.random.Generator) -> np.ndarray:
    """Random holes as blobs about `blob_image_px` across covering ~`rate` of the image (not single pixels)."""
    h, w = shape
    cell = max(blob_image_px, 1.0)
    gh, gw = int(np.ceil(h / cell)) + 1, int(np.ceil(w / cell)) + 1
    seeds = (rng.random((gh, gw), dtype=np.float32) < rate).astype(np.float32)
    big = cv2.resize(seeds, (int(gw * cell), int(gh * cell)), interpolation=cv2.INTER_LINEAR)
    return big[:h, :w] > 0.35


def _window_kernel(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def triangulation_noise(depth: np.ndarray, f_image: float, pixel_scale: float, rng: np.random.Generator,
                        sensor: TriangulationSensor) -> np.ndarray:
    """What `sensor` measures of the ideal depth (mm, 0 = nothing) seen with focal length `f_image` -> uint16 mm.

    `pixel_scale` = sensor focal length / `f_image`: sensor pixels per image pixel.
    """
    z = depth.astype(np.float32)
    shape = z.shape
    nothing = np.float32(1e5)
    far = np.where(z > 0, z, nothing)  # missing counts as far away
    window = int(round(sensor.window_px / 2 / pixel_scale))  # half the correlation window, image pixels
    blobs = max(sensor.window_px / pixel_scale, 1.0)
    if window:
        # the correlation window: near depth spreads over the background beside it (fattening), and near
        # structures narrower than the window (fingers seen thin) are not matched
        kernel = _window_kernel(window)
        spread = cv2.erode(far, kernel)
        closed = cv2.erode(cv2.dilate(far, kernel), kernel)
        fat = (spread < far - EDGE_JUMP_MM) & blob_mask(shape, sensor.fatten, blobs, rng)
        thin = (closed > far + EDGE_JUMP_MM) & blob_mask(shape, sensor.thin_loss, blobs, rng)
        far = np.where(fat, spread, far)
        far[thin & ~fat] = nothing
        z = np.where(far < nothing, far, np.float32(0))
    valid = z > 0
    edges = edge_mask(z)
    lost = shadow_mask(z, f_image, sensor.baseline_mm, sensor.shadow_side) \
        | (grazing_mask(z, f_image, sensor.grazing_deg) & ~edges)
    erode = sensor.erode_px / pixel_scale
    if erode > 0:  # the near side of each edge (missing neighbours count as far) loses ~erode pixels
        reach = max(int(round(erode)), 1)
        rim = valid & (z < cv2.dilate(far, _window_kernel(reach)) - EDGE_JUMP_MM)
        lost |= rim & (rng.random(shape, dtype=np.float32) < min(1.0, erode))
    # flying pixels: along edges a pixel mixes the depths on both sides of it
    fly = edges & valid & (rng.random(shape, dtype=np.float32) < min(1.0, sensor.flying_px / pixel_scale))
    if fly.any():
        one = _window_kernel(1)
        near, back = cv2.erode(far, one), cv2.dilate(z, one)
        mix = rng.random(shape, dtype=np.float32)
        z = np.where(fly, near + mix * (back - near), z)
    # disparity noise, correlated over the window (smooth surfaces for a large window), then quantised
    noise = rng.standard_normal(shape, dtype=np.float32)
    sigma = sensor.window_px / 4 / pixel_scale
    if sigma > 0.5:
        noise = cv2.GaussianBlur(noise, (0, 0), sigma) * np.float32(np.sqrt(4 * np.pi) * sigma)
    fb = np.float32(f_image * pixel_scale * sensor.baseline_mm)
    disparity = fb / np.where(valid, z, np.float32(1)) + noise * np.float32(sensor.disparity_noise_px)
    step = np.float32(sensor.disparity_step_px)
    measured = fb / np.maximum(np.round(disparity / step) * step, step)
    lost |= blob_mask(shape, sensor.hole_rate, sensor.hole_px / pixel_scale, rng)
    lo, hi = sensor.range_mm
    keep = valid & ~lost & (measured >= lo) & (measured <= hi)
    return np.clip(np.round(np.where(keep, measured, 0)), 0, 65535).astype(np.uint16)


def sensor_depth(depth: np.ndarray, f_image: float, rng: np.random.Generator,
                 sensor: SimpleSensor | TriangulationSensor, pixel_scale: float = 1.0) -> np.ndarray:
    """Ideal depth (mm float, 0 = nothing) -> what `sensor` reports (uint16 mm, 0 = missing)."""
    if isinstance(sensor, SimpleSensor):
        return simple_noise(depth, f_image * pixel_scale, rng, sensor)
    return triangulation_noise(depth, f_image, pixel_scale, rng, sensor)
