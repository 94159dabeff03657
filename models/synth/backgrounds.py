"""Backgrounds for synthetic RGB frames: a patch that drifts across a larger image over a sequence.

Why: SeqHAND moves a random VOC2012 patch from a start to an end position along the sequence so the hand is
seen in front of a moving scene. Any folder of images works (`--backgrounds`, e.g. VOC2012 JPEGImages); with
none, procedural textures (smooth colour fields, shapes, stripes) generated from the seed are used, so the
default needs no files.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def procedural_texture(rng: np.random.Generator, size: int = 384) -> np.ndarray:
    """(size, size, 3) uint8: a smooth random colour field with shapes and stripes on top."""
    import cv2

    grid = rng.uniform(0, 255, size=(rng.integers(2, 7), rng.integers(2, 7), 3)).astype(np.float32)
    img = cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(3, 12))):
        colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
        kind = rng.integers(0, 3)
        p = tuple(int(c) for c in rng.integers(0, size, 2))
        if kind == 0:
            q = tuple(int(c) for c in rng.integers(0, size, 2))
            cv2.rectangle(img, p, q, colour, -1)
        elif kind == 1:
            cv2.circle(img, p, int(rng.integers(8, size // 3)), colour, -1)
        else:
            q = tuple(int(c) for c in rng.integers(0, size, 2))
            cv2.line(img, p, q, colour, int(rng.integers(2, 12)))
    if rng.random() < 0.4:  # stripes
        period = rng.uniform(6, 40)
        angle = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        wave = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
        img = img * (1.0 + 0.25 * wave[..., None])
    grey = img.mean(axis=2, keepdims=True)
    img = grey + rng.uniform(0.3, 0.9) * (img - grey)  # natural scenes are rarely fully saturated
    img = img + rng.normal(0, 6, size=(size, size, 1)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


class Backgrounds:
    """Source of moving background patches: an image folder, or procedural textures made from `seed`."""

    def __init__(self, folder: Path | str | None = None, seed: int = 0, num_procedural: int = 24,
                 images: list[np.ndarray] | None = None) -> None:
        """`images`: uint8 RGB arrays to use instead of a folder or procedural textures."""
        self.files: list[Path] = []
        self._textures: list[np.ndarray] = []
        if images is not None:
            if not images:
                raise ValueError("backgrounds: images is empty")
            self._textures = [np.asarray(img, np.uint8) for img in images]
        elif folder is not None:
            folder = Path(folder)
            if not folder.is_dir():
                raise FileNotFoundError(f"backgrounds folder {folder} does not exist")
            self.files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            if not self.files:
                raise ValueError(f"backgrounds folder {folder} holds no .jpg/.png/.bmp images")
        else:
            rng = np.random.default_rng([seed, 0xBA6])
            self._textures = [procedural_texture(rng) for _ in range(num_procedural)]

    def _image(self, rng: np.random.Generator, min_side: int) -> np.ndarray:
        import cv2

        if self.files:
            path = self.files[int(rng.integers(len(self.files)))]
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if bgr is None:
                raise OSError(f"background image {path} cannot be read")
            img = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        else:
            img = self._textures[int(rng.integers(len(self._textures)))]
        short = min(img.shape[:2])
        if short < min_side:
            f = min_side / short
            img = cv2.resize(img, (int(np.ceil(img.shape[1] * f)), int(np.ceil(img.shape[0] * f))))
        return img

    def patches(self, rng: np.random.Generator, frames: int, height: int, width: int | None = None) -> np.ndarray:
        """(frames, H, W, 3) uint8: a window moving in a straight line from a random start to a random end."""
        width = height if width is None else width
        img = self._image(rng, int(np.ceil(max(height, width) * 1.4)))
        h, w = img.shape[:2]
        start = rng.integers(0, [h - height + 1, w - width + 1])
        end = rng.integers(0, [h - height + 1, w - width + 1])
        steps = np.linspace(0.0, 1.0, frames)[:, None]
        pos = np.round(start + steps * (end - start)).astype(int)
        return np.stack([img[y:y + height, x:x + width] for y, x in pos])
