"""Training batches for SeqHAND-Net: real static images as one-frame sequences (finetune) and
synthetic pose-flow sequences (pretrain), both as `Batch` (images + loss targets)."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from models.seqhand.config import SeqHandConfig
from models.seqhand.image_sample import ImageSample
from models.seqhand.losses import LossTargets


@dataclass
class Batch:
    images: torch.Tensor  # (B,T,3,S,S) RGB in [0, 1]
    targets: LossTargets
    heatmaps: torch.Tensor | None = None  # (B,T,21,S,S) keypoint heatmaps, for keypoint_heatmaps models

    def to(self, device: torch.device) -> Batch:
        def move(v):
            return v.to(device) if isinstance(v, torch.Tensor) else v

        return Batch(move(self.images), LossTargets(**{k: move(v) for k, v in self.targets.__dict__.items()}),
                     move(self.heatmaps))


def to_tensor_images(images: np.ndarray) -> torch.Tensor:
    """(...,S,S,3) uint8 -> (...,3,S,S) float in [0, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(images))
    return t.movedim(-1, -3).float().div_(255.0)


def collate_images(samples: Sequence[ImageSample]) -> Batch:
    """Static samples -> a batch of one-frame sequences; vertices/masks only when all samples have them."""
    def stack(values: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(values)).float()[:, None]

    verts = [s.vertices_3d for s in samples]
    masks = [s.mask for s in samples]
    targets = LossTargets(
        joints_2d=stack([s.joints_2d for s in samples]),
        joints_3d=stack([s.joints_3d for s in samples]),
        vertices_3d=stack(verts) if all(v is not None for v in verts) else None,
        mask=stack(masks) if all(m is not None for m in masks) else None,
        palm_root=torch.tensor([s.palm_root for s in samples]),
    )
    return Batch(to_tensor_images(np.stack([s.image for s in samples]))[:, None], targets)


def image_batches(dataset: Sequence[ImageSample], batch_size: int, seed: int, rank: int = 0,
                  world: int = 1) -> Iterator[Batch]:
    """Endless shuffled batches; each process of a DDP run reads its own share of every epoch."""
    if len(dataset) == 0:
        raise ValueError("the finetune dataset is empty")
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(dataset))[rank::world]
        for i in range(0, len(order) - batch_size + 1, batch_size):
            yield collate_images([dataset[int(j)] for j in order[i : i + batch_size]])
        if len(order) < batch_size:  # tiny datasets: sample with replacement
            yield collate_images([dataset[int(j)] for j in rng.choice(order, batch_size)])


def open_finetune_dataset(config: SeqHandConfig, size: int) -> Sequence[ImageSample]:
    """The real-image dataset named by [finetune] dataset/root."""
    f = config.finetune
    if not f.root:
        raise ValueError(f"{config.source}: finetune.root must name the {f.dataset} folder")
    root = Path(f.root)
    if f.dataset == "freihand":
        from models.datasets.freihand import FreiHand, FreiHandOptions

        return FreiHand(root, FreiHandOptions(size=size, seed=f.seed))
    from models.datasets.stb import Stb, StbOptions

    return Stb(root, StbOptions(size=size, seed=f.seed))
