"""FreiHAND (Zimmermann et al., ICCV 2019) training set reader for SeqHAND-Net's finetune stage.

Layout read (the official download): `training_xyz.json` (N x 21 x 3 metres, camera frame, joints in
the MediaPipe order), `training_K.json` (N x 3 x 3), optional `training_verts.json` (N x 778 x 3) and
`training_mano.json` (N x [61 values]), `rgb/%08d.jpg` (4N images: the N hands under four
backgrounds/colourings, image i has the labels of i mod N) and `mask/%08d.jpg` (N masks).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from calibration.intrinsics import CameraIntrinsics
from calibration.projection import project_mm
from models.seqhand.image_sample import CropBox, ImageSample, jitter


@dataclass
class FreiHandOptions:
    size: int = 128  # output crop side in pixels
    reposition: bool = True  # random shift/scale of the crop (the hands are centred in the originals)
    shift: float = 0.15
    scale: float = 0.15
    seed: int = 0
    vertices: bool = True  # read training_verts.json when present (LM3D)


class FreiHand:
    """Map-style dataset: `len()` and `[i]` -> ImageSample (usable by torch's DataLoader as is)."""

    def __init__(self, root: Path, options: FreiHandOptions | None = None) -> None:
        self.root = Path(root)
        self.options = options or FreiHandOptions()
        if not self.root.is_dir():
            raise FileNotFoundError(f"FreiHAND folder {self.root} does not exist")
        self.xyz = np.asarray(_read_json(self.root / "training_xyz.json"), np.float32)
        self.k = np.asarray(_read_json(self.root / "training_K.json"), np.float32)
        if self.xyz.ndim != 3 or self.xyz.shape[1:] != (21, 3):
            raise ValueError(f"{self.root / 'training_xyz.json'}: expected N x 21 x 3 joints, "
                             f"got shape {self.xyz.shape}")
        if self.k.shape != (len(self.xyz), 3, 3):
            raise ValueError(f"{self.root / 'training_K.json'}: expected {len(self.xyz)} x 3 x 3, "
                             f"got shape {self.k.shape}")
        verts = self.root / "training_verts.json"
        self.verts = np.asarray(_read_json(verts), np.float32) if self.options.vertices and verts.is_file() else None
        self.num_labels = len(self.xyz)
        images = sorted((self.root / "rgb").glob("*.jpg"))
        if not images:
            raise FileNotFoundError(f"FreiHAND folder {self.root} has no rgb/*.jpg images")
        self.num_images = len(images)
        self._rng = np.random.default_rng(self.options.seed)

    def __len__(self) -> int:
        return self.num_images

    def __getitem__(self, index: int) -> ImageSample:
        if not 0 <= index < self.num_images:
            raise IndexError(index)
        label = index % self.num_labels
        rgb = _read_image(self.root / "rgb" / f"{index:08d}.jpg")
        mask_path = self.root / "mask" / f"{label:08d}.jpg"
        mask = _read_image(mask_path, gray=True) if mask_path.is_file() else None
        h, w = rgb.shape[:2]
        camera = CameraIntrinsics.from_matrix(self.k[label], w, h)  # no skew in FreiHAND's K
        box = CropBox(w / 2 - 0.5, h / 2 - 0.5, float(max(h, w)))
        if self.options.reposition:
            box = jitter(box, self._rng, self.options.shift, self.options.scale)
        size = self.options.size
        return ImageSample(
            image=box.warp(rgb, size),
            joints_2d=box.to_crop(project_mm(self.xyz[label], camera)),  # metres: a pinhole has no unit
            joints_3d=self.xyz[label].copy(),
            vertices_3d=None if self.verts is None else self.verts[label].copy(),
            mask=None if mask is None else (box.warp(mask, size, nearest=True) > 127).astype(np.uint8),
        )


def _read_json(path: Path) -> list:
    if not path.is_file():
        raise FileNotFoundError(f"FreiHAND label file {path} does not exist")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def _read_image(path: Path, gray: bool = False) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"cannot read image {path}")
    return image if gray else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
