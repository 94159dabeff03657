"""Square hand crops for the RGB model, and the way back from crop coordinates to image pixels.

The crop is a square of 2.2 times the hand box's longer edge around the box centre (SeqHAND-Net
paper), resized to the model input. Left hands are mirrored so the right-hand model sees a right
hand; ``crop_to_image`` undoes the mirror. Crop coordinates span [-1, 1] across the square (the
model contract), x to the right and y down as in the image.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CROP_SCALE = 2.2


@dataclass(frozen=True)
class CropBox:
    """A square crop: centre (``cx``, ``cy``) and side ``size`` in image pixels; ``mirrored`` for left hands."""

    cx: float
    cy: float
    size: float
    mirrored: bool = False

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) in image pixels."""
        h = self.size / 2.0
        return (self.cx - h, self.cy - h, self.cx + h, self.cy + h)


def square_box(points: np.ndarray, mirrored: bool = False, scale: float = CROP_SCALE,
               min_size: float = 16.0) -> CropBox:
    """The crop around 2-D ``points`` (N,2) px, or a box given as (x0, y0, x1, y1)."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre = (lo + hi) / 2.0
    size = max(float((hi - lo).max()) * scale, min_size)
    return CropBox(float(centre[0]), float(centre[1]), size, mirrored)


def crop_affine(box: CropBox, out_size: int) -> np.ndarray:
    """The 2x3 affine mapping image pixels to crop pixels (mirrored horizontally for left hands)."""
    k = out_size / box.size
    sx = -k if box.mirrored else k
    # pixel centres: image point (cx, cy) lands on the crop centre (out_size - 1) / 2
    c = (out_size - 1) / 2.0
    return np.array([[sx, 0.0, c - sx * box.cx], [0.0, k, c - k * box.cy]], np.float64)


def crop_image(image: np.ndarray, box: CropBox, out_size: int) -> np.ndarray:
    """The ``out_size`` square crop of ``image`` (outside the image is black)."""
    import cv2

    return cv2.warpAffine(image, crop_affine(box, out_size), (out_size, out_size),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def crop_to_image(uv: np.ndarray, box: CropBox) -> np.ndarray:
    """Crop coordinates in [-1, 1] (N,2) → image pixels, undoing the mirror of left hands."""
    uv = np.asarray(uv, np.float64)
    x = -uv[:, 0] if box.mirrored else uv[:, 0]
    half = box.size / 2.0
    return np.stack([box.cx + x * half, box.cy + uv[:, 1] * half], axis=1)


def image_to_crop(points: np.ndarray, box: CropBox) -> np.ndarray:
    """Image pixels (N,2) → crop coordinates in [-1, 1] (the inverse of ``crop_to_image``)."""
    pts = np.asarray(points, np.float64)
    half = box.size / 2.0
    u = (pts[:, 0] - box.cx) / half
    return np.stack([-u if box.mirrored else u, (pts[:, 1] - box.cy) / half], axis=1)
