"""A vectorised z-buffer triangle rasterizer in numpy, fast enough to render thousands of hand frames a second.

Why not OpenGL/Open3D: no GPU here, and offscreen GL contexts are fragile in worker processes. Why this shape:
each triangle is cut into scanlines (one per pixel row of its bounding box) whose exact run of inside pixels
comes from the triangle's affine edge functions, runs are expanded with `np.repeat`, and the depth test is one
`np.minimum.at` — no Python loop over triangles or pixels. A whole sequence (T frames of one mesh) is
rasterized in one call, so the fixed cost of each numpy operation is paid once per sequence, not per frame.
Pixel centres are at integer coordinates (pixel (u, v) covers [u-0.5, u+0.5)).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Raster:
    """Which triangle covers each pixel and where: the input for shading, depth and masks.

    `pixels` are the flat indices (frame * height * width + v * width + u) of the covered pixels, `face` the
    triangle seen there, `bary` its barycentric weights (screen-space) and `depth` the interpolated z of the
    visible surface. Images come out (frames, H, W), or (H, W) for a single-frame raster.
    """

    height: int
    width: int
    frames: int
    pixels: np.ndarray  # (P,) int64
    face: np.ndarray  # (P,) int64
    bary: np.ndarray  # (P, 3) float32
    depth: np.ndarray  # (P,) float32

    batched: bool = False

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.frames, self.height, self.width) if self.batched else (self.height, self.width)

    @property
    def mask(self) -> np.ndarray:
        """bool image, True where the mesh is seen."""
        out = np.zeros(self.frames * self.height * self.width, dtype=bool)
        out[self.pixels] = True
        return out.reshape(self.shape)

    def depth_image(self, background: float = 0.0) -> np.ndarray:
        """float32 depth of the nearest surface, `background` elsewhere."""
        out = np.full(self.frames * self.height * self.width, background, dtype=np.float32)
        out[self.pixels] = self.depth
        return out.reshape(self.shape)


def front_sign(vertices: np.ndarray, faces: np.ndarray) -> int:
    """The `front` argument of `rasterize` that culls back faces of this closed mesh (x right, y down, z away).

    A mesh with outward normals by the right-hand rule has positive signed volume; seen in a y-down image
    its front faces then have negative signed screen area. An open mesh (e.g. the licensed MANO, open at the
    wrist) gets 0: through its hole one would see back faces, so none may be culled.
    """
    faces = np.asarray(faces, dtype=np.int64)
    edges = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    if np.any(counts != 2):
        return 0
    tri = np.asarray(vertices, dtype=np.float64)[faces]
    volume = np.einsum("fi,fi->f", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum()
    return -1 if volume > 0 else 1


def rasterize(screen: np.ndarray, faces: np.ndarray, height: int, width: int, *, perspective: bool = False,
              front: int = 0) -> Raster:
    """Rasterize triangles given vertices in screen space, for one frame or a batch of frames.

    `screen` is (V, 3) or (T, V, 3) (the same faces in every frame): x and y in pixels, z the depth to test
    (smaller = nearer). With `perspective` (pinhole cameras, all z > 0) depth is interpolated linearly in 1/z,
    which is exact for planar triangles; otherwise (orthographic) linearly in z. `front` = +1 or −1 culls back
    faces of a closed, consistently wound mesh: only triangles whose signed screen area has that sign are drawn
    (0 draws all).
    """
    screen = np.asarray(screen, dtype=np.float64)
    batched = screen.ndim == 3
    if screen.ndim not in (2, 3) or screen.shape[-1] != 3:
        raise ValueError(f"screen vertices must be (V, 3) or (T, V, 3), got {screen.shape}")
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    if perspective and not np.all(screen[..., 2] > 0):
        raise ValueError("perspective rasterization needs all vertices in front of the camera (z > 0)")
    faces = np.asarray(faces, dtype=np.int64)
    frames = screen.shape[0] if batched else 1
    tri = screen[:, faces].reshape(-1, 3, 3) if batched else screen[faces]  # (T*F, 3, 3), frame-major
    x0, x1, x2 = tri[:, 0, 0], tri[:, 1, 0], tri[:, 2, 0]
    y0, y1, y2 = tri[:, 0, 1], tri[:, 1, 1], tri[:, 2, 1]
    area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)  # signed, doubled
    keep = np.abs(area) > 1e-12
    if front:
        keep &= area * front > 0
    # Candidate pixel centres (integers) inside each triangle's bounding box, clipped to the image.
    xmin = np.maximum(np.ceil(np.minimum(np.minimum(x0, x1), x2)), 0)
    xmax = np.minimum(np.floor(np.maximum(np.maximum(x0, x1), x2)), width - 1)
    ymin = np.maximum(np.ceil(np.minimum(np.minimum(y0, y1), y2)), 0)
    ymax = np.minimum(np.floor(np.maximum(np.maximum(y0, y1), y2)), height - 1)
    keep &= (xmax >= xmin) & (ymax >= ymin)
    fids = np.nonzero(keep)[0]
    if fids.size == 0:
        return Raster(height, width, frames, np.zeros(0, np.int64), np.zeros(0, np.int64),
                      np.zeros((0, 3), np.float32), np.zeros(0, np.float32), batched)
    x0, x1, x2, y0, y1, y2 = x0[fids], x1[fids], x2[fids], y0[fids], y1[fids], y2[fids]
    ox, oy = xmin[fids], ymin[fids]
    inv = 1.0 / area[fids]
    # Barycentric weights as affine functions of the pixel offset (dx, dy) from the box origin:
    # weight_i = w_i + a_i dx + b_i dy (rows i = 0, 1, 2); the depth (or 1/depth) plane likewise.
    a = np.stack([y1 - y2, y2 - y0, y0 - y1]) * inv
    b = np.stack([x2 - x1, x0 - x2, x1 - x0]) * inv
    c = np.stack([x1 * y2 - x2 * y1, x2 * y0 - x0 * y2, x0 * y1 - x1 * y0]) * inv
    w = a * ox + b * oy + c  # (3, F')
    zv = tri[fids, :, 2].T
    zv = 1.0 / zv if perspective else zv  # (3, F')
    z_o = w[0] * zv[0] + w[1] * zv[1] + w[2] * zv[2]
    z_x = a[0] * zv[0] + a[1] * zv[1] + a[2] * zv[2]
    z_y = b[0] * zv[0] + b[1] * zv[1] + b[2] * zv[2]

    # Scanlines: one entry per (triangle, pixel row) of its box, with the exact run of columns inside it,
    # so only covered pixels are ever expanded (long thin triangles have large, mostly empty boxes).
    heights = (ymax[fids] - oy + 1).astype(np.int64)
    rows = int(heights.sum())
    row_dy = (np.arange(rows) - np.repeat(np.cumsum(heights) - heights, heights)).astype(np.float64)
    per_row = lambda values: np.repeat(values, heights)  # noqa: E731  (a streaming gather, face -> its rows)
    # per row and edge i: weight_i(dx) = wr_i + a_i dx must stay >= 0
    eps = 1e-9
    lo = np.zeros(rows)
    hi = per_row(xmax[fids] - ox)
    wr, ar = [], []
    for i in range(3):
        w_i = per_row(w[i]) + per_row(b[i]) * row_dy
        a_i = per_row(a[i])
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = (-eps - w_i) / a_i
        lo = np.maximum(lo, np.where(a_i > 0, np.ceil(bound), -np.inf))
        hi = np.minimum(hi, np.where(a_i < 0, np.floor(bound), np.inf))
        hi = np.where((a_i == 0) & (w_i < -eps), -1.0, hi)
        wr.append(w_i)
        ar.append(a_i)
    run = np.maximum(hi - lo + 1, 0).astype(np.int64)
    lo = np.where(run > 0, lo, 0.0)
    # Everything a pixel needs is affine along its run: value at the run's start (per row) + step * k.
    # Per-pixel arrays are 32-bit (half the memory traffic); per-row starts are exact in float64.
    per_px = lambda values, dtype=np.float32: np.repeat(values.astype(dtype), run)  # noqa: E731
    index = np.int64 if frames * height * width >= 2 ** 31 else np.int32
    k_int = np.arange(int(run.sum()), dtype=index) - per_px(np.cumsum(run) - run, index)
    k = k_int.astype(np.float32)
    face_global = per_row(fids)
    frame_of = face_global // len(faces)
    row_pix = (frame_of * height + per_row(oy) + row_dy) * width + per_row(ox) + lo
    pix = per_px(row_pix, index) + k_int
    b0 = per_px(wr[0] + ar[0] * lo) + per_px(ar[0]) * k
    b1 = per_px(wr[1] + ar[1] * lo) + per_px(ar[1]) * k
    zx = per_row(z_x)
    z = per_px(per_row(z_o) + zx * lo + per_row(z_y) * row_dy) + per_px(zx) * k
    if perspective:
        z = np.float32(1.0) / z
    f = per_px(face_global % len(faces), index)

    zbuf = np.full(frames * height * width, np.inf, dtype=np.float32)
    np.minimum.at(zbuf, pix, z)
    win = np.flatnonzero(z <= zbuf[pix])
    # Exact ties (shared edges at equal depth) may leave a pixel twice; both carry the same depth.
    b0, b1 = b0.take(win), b1.take(win)
    bary = np.stack([b0, b1, np.float32(1.0) - b0 - b1], axis=1).clip(0.0, 1.0)
    return Raster(height, width, frames, pix.take(win).astype(np.int64), f.take(win).astype(np.int64), bary,
                  z.take(win), batched)
