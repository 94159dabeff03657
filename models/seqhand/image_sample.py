"""One real training image for the finetune stage, cropped square around the hand, and the crop
geometry shared by the FreiHAND and STB readers.

Crop coordinates: [-1, 1] spans the crop from the left/top edge of its first pixel to the right/bottom
edge of its last (the convention of `grid_sample(align_corners=False)`), pixel centres of the source
image at integer coordinates.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class ImageSample:
    """A hand crop with its labels; `palm_root` marks labels whose joint 0 is the palm centre (STB)."""

    image: np.ndarray  # (S,S,3) uint8 RGB
    joints_2d: np.ndarray  # (21,2) float32 crop coordinates
    joints_3d: np.ndarray  # (21,3) float32 metres, camera frame
    vertices_3d: np.ndarray | None = None  # (V,3) float32 metres, camera frame
    mask: np.ndarray | None = None  # (S,S) uint8, 1 on the hand
    palm_root: bool = False


@dataclass
class CropBox:
    """A square window of the source image: centre (x, y) in pixel-centre coordinates, side in pixels."""

    cx: float
    cy: float
    side: float

    def to_crop(self, uv: np.ndarray) -> np.ndarray:
        """Source pixel coordinates (...,2) -> crop coordinates."""
        origin = np.array([self.cx, self.cy]) - self.side / 2
        return ((uv - origin) / self.side * 2.0 - 1.0).astype(np.float32)

    def warp(self, image: np.ndarray, size: int, nearest: bool = False) -> np.ndarray:
        """Cut the window out of `image` and resize it to size x size; outside the image is black."""
        k = size / self.side
        x0, y0 = self.cx - self.side / 2, self.cy - self.side / 2
        affine = np.array([[k, 0, -x0 * k - 0.5], [0, k, -y0 * k - 0.5]], np.float64)
        flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
        return cv2.warpAffine(image, affine, (size, size), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def box_around(uv: np.ndarray, factor: float = 2.2) -> CropBox:
    """The paper's crop (§5): a square of `factor` x the longer side of the joints' tight box."""
    lo, hi = uv.min(axis=0), uv.max(axis=0)
    centre = (lo + hi) / 2
    return CropBox(float(centre[0]), float(centre[1]), float(max(hi - lo) * factor))


def jitter(box: CropBox, rng: np.random.Generator, shift: float, scale: float) -> CropBox:
    """Re-position the hand inside the crop (paper §5 for FreiHAND's centred hands): move the window
    by up to `shift` x side and scale it by up to 1 +- `scale`."""
    dx, dy = rng.uniform(-shift, shift, 2) * box.side
    return CropBox(box.cx + dx, box.cy + dy, box.side * float(rng.uniform(1 - scale, 1 + scale)))

