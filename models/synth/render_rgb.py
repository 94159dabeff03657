"""RGB hand frames: weak-perspective projection into the crop, Gouraud-shaded per-vertex skin, composited over
a moving background, with optional blur, noise and colour jitter.

The projection is SeqHAND-Net's own (Eq. 3-4 and the streaming contract): a 2-D point is s · (R X)[:2] + t in
crop coordinates, where [-1, 1] spans the crop from the outer edge of its first pixel to that of its last, so
pixel centres sit at u = (q + 1) / 2 · S − 0.5. Rendering with the network's camera model means the labels are
exactly what the network can predict.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from models.synth.raster import Raster, rasterize


@dataclass(frozen=True)
class RgbOptions:
    size: int = 224
    ambient: tuple[float, float] = (0.25, 0.5)
    diffuse: tuple[float, float] = (0.45, 0.75)
    blur_probability: float = 0.25
    noise_sigma: float = 3.0  # grey levels; 0 disables
    colour_jitter: float = 0.1  # ± relative brightness/contrast/per-channel gain; 0 disables

    def __post_init__(self) -> None:
        if self.size < 16:
            raise ValueError(f"RGB image size must be >= 16 pixels, got {self.size}")


def crop_to_pixels(q: np.ndarray, size: int) -> np.ndarray:
    """Crop coordinates ([-1, 1] spans the crop) -> pixel-centre coordinates of a size × size image."""
    return (np.asarray(q) + 1.0) * (size / 2.0) - 0.5


class VertexNormals:
    """Per-vertex normals from face normals through a fixed vertex-face incidence matrix (one sparse product)."""

    def __init__(self, faces: np.ndarray, num_vertices: int, rest_vertices: np.ndarray) -> None:
        self.faces = np.asarray(faces, dtype=np.int64)
        f = len(self.faces)
        rows = self.faces.ravel()
        cols = np.repeat(np.arange(f), 3)
        self._incidence = sparse.csr_matrix((np.ones(3 * f), (rows, cols)), shape=(num_vertices, f))
        # Outward normals need counter-clockwise faces; the signed volume of the rest mesh says which we have.
        tri = np.asarray(rest_vertices, dtype=np.float64)[self.faces]
        volume = np.einsum("fi,fi->f", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum()
        self.sign = 1.0 if volume >= 0 else -1.0

    def __call__(self, vertices: np.ndarray) -> np.ndarray:
        """(T, V, 3) vertices -> (T, V, 3) unit normals (all frames in one sparse product)."""
        t, f = vertices.shape[0], len(self.faces)
        tri = vertices[:, self.faces]  # (T, F, 3, 3)
        fn = np.cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0]) * self.sign
        vn = (self._incidence @ fn.transpose(1, 0, 2).reshape(f, t * 3)).reshape(-1, t, 3).transpose(1, 0, 2)
        return vn / np.maximum(np.linalg.norm(vn, axis=-1, keepdims=True), 1e-12)


def random_light(rng: np.random.Generator, options: RgbOptions) -> tuple[float, float, np.ndarray]:
    """Ambient, diffuse strength and a unit direction towards the light (from the camera's side: z < 0)."""
    d = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1), -rng.uniform(0.3, 1.0)])
    return float(rng.uniform(*options.ambient)), float(rng.uniform(*options.diffuse)), d / np.linalg.norm(d)


def shade_vertices(albedo: np.ndarray, normals: np.ndarray, light: tuple[float, float, np.ndarray]) -> np.ndarray:
    """(..., V, 3) float RGB in [0, 1]: ambient + Lambertian, for (V, 3) albedo and (..., V, 3) normals."""
    ambient, diffuse, direction = light
    lambert = np.clip(normals @ direction, 0.0, None)
    return np.clip(albedo * (ambient + diffuse * lambert)[..., None], 0.0, 1.0)


def composite(raster: Raster, faces: np.ndarray, vertex_rgb: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Paint the rasterized hand (per-pixel barycentric blend of vertex colours) over `background`.

    A batched raster takes (T, V, 3) colours and (T, H, W, 3) backgrounds."""
    out = background.reshape(-1, 3).copy()
    rgb = (vertex_rgb.astype(np.float32) * np.float32(255.0)).reshape(-1, vertex_rgb.shape[-2], 3)
    corners = rgb[:, faces].reshape(-1, 9)  # (T*F, 9): each face's three corner colours
    frame = raster.pixels // (raster.height * raster.width)
    c = corners.take(frame * len(faces) + raster.face, axis=0)  # one gather of (P, 9)
    bary = raster.bary
    colour = c[:, 0:3] * bary[:, 0:1] + c[:, 3:6] * bary[:, 1:2] + c[:, 6:9] * bary[:, 2:3]
    out[raster.pixels] = np.clip(colour + np.float32(0.5), 0, 255).astype(np.uint8)
    return out.reshape(background.shape)


class Augmenter:
    """Colour jitter, an occasional Gaussian blur and sensor noise, all on uint8 images in OpenCV's C loops.

    Why the noise tile: drawing fresh Gaussian noise for every pixel costs more than rendering the hand; a
    random window of one fixed tile (drawn from the generator's seed) looks the same to a network.
    """

    def __init__(self, options: RgbOptions, seed: int) -> None:
        self.options = options
        tile = np.random.default_rng([seed, 0x401]).standard_normal((2 * options.size, 2 * options.size, 3))
        tile = np.round(tile * options.noise_sigma)
        self._plus = np.clip(tile, 0, 255).astype(np.uint8)
        self._minus = np.clip(-tile, 0, 255).astype(np.uint8)

    def __call__(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        import cv2

        o = self.options
        img = image
        if o.colour_jitter > 0:
            j = o.colour_jitter
            gain = rng.uniform(1 - j, 1 + j) * rng.uniform(1 - j / 2, 1 + j / 2, size=3)
            contrast = rng.uniform(1 - j, 1 + j)
            levels = np.arange(256, dtype=np.float64)
            lut = ((levels[:, None] - 128.0) * contrast + 128.0) * gain[None, :]
            lut = np.clip(lut + 0.5, 0, 255).astype(np.uint8).reshape(256, 1, 3)
            img = cv2.LUT(img, lut)
        if rng.random() < o.blur_probability:
            img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.5, 1.5)))
        if o.noise_sigma > 0:
            h, w = img.shape[:2]
            y, x = (int(v) for v in rng.integers(0, [self._plus.shape[0] - h + 1, self._plus.shape[1] - w + 1]))
            img = cv2.subtract(cv2.add(img, self._plus[y:y + h, x:x + w]), self._minus[y:y + h, x:x + w])
        return np.ascontiguousarray(img)


def render_rgb_frames(vertices_rot: np.ndarray, faces: np.ndarray, vertex_rgb: np.ndarray, scale: np.ndarray,
                      trans: np.ndarray, backgrounds: np.ndarray, front: int = 0) -> tuple[np.ndarray, Raster]:
    """T frames: rotated vertices (T, V, 3; metres, y down, z away from the viewer), colours (T, V, 3),
    weak-perspective scale (T,) and translation (T, 2), backgrounds (T, S, S, 3) -> images and raster.

    `front` is `raster.front_sign` of the closed mesh (back-face culling), 0 to draw every triangle."""
    size = backgrounds.shape[1]
    screen = np.empty_like(vertices_rot)
    screen[..., :2] = crop_to_pixels(scale[:, None, None] * vertices_rot[..., :2] + trans[:, None, :], size)
    screen[..., 2] = vertices_rot[..., 2]
    raster = rasterize(screen, faces, size, size, front=front)
    return composite(raster, faces, vertex_rgb, backgrounds), raster
