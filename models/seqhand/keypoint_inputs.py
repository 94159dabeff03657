"""Training inputs of the keypoint-conditioned SeqHAND-Net: heatmaps of detector-like keypoints beside RGB that
cannot carry the answer on its own.

Why: live, the network gets MediaPipe's landmarks, a detector trained on real images, while every training
image is a render. The keypoints are the true 2-D joints through the lifter's detector-error model
(`models.lifter.data.detector_points_2d`: jitter, drift, bias, swapped and folded fingers), so the network
learns to weigh them as the detections they are; the RGB is strongly randomised (colour, grey, blur, noise)
and, for a share of the sequences, blanked to zero, so a render's look is never the only way to the answer.
Each sequence keeps one appearance over its frames, as a camera would; the sensor noise changes per frame.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from models.heatmaps import keypoint_heatmaps
from models.lifter.data import KeypointNoise, detector_points_2d
from models.seqhand.data import Batch

_LUMA = (0.299, 0.587, 0.114)


@dataclass
class KeypointInputOptions:
    """How the heatmaps are drawn and the RGB spoiled. Evaluation keeps the RGB as rendered (no blanking,
    no extra randomisation) and only simulates the detector."""

    sigma: float  # heatmap standard deviation, crop pixels
    blank_rgb: float = 0.3  # share of sequences whose RGB is all zero
    randomise_rgb: bool = True
    noise: KeypointNoise = field(default_factory=KeypointNoise)


def with_keypoint_inputs(batch: Batch, rng: np.random.Generator, options: KeypointInputOptions) -> Batch:
    """A batch of sequences (B,T,3,S,S) with 2-D targets in crop coordinates -> the same batch with heatmaps
    (B,T,21,S,S) of simulated detections and the RGB randomised and partly blanked (targets unchanged)."""
    images = batch.images
    size = images.shape[-1]
    seen = detector_points_2d(rng, batch.targets.joints_2d.numpy(), options.noise)
    heatmaps = torch.from_numpy(keypoint_heatmaps(seen, size, options.sigma))
    if options.randomise_rgb:
        images = randomise_appearance(images, rng)
    blank = torch.from_numpy(rng.random(images.shape[0]) < options.blank_rgb)
    if blank.any():
        images = images.masked_fill(blank[:, None, None, None, None], 0.0)
    return Batch(images, batch.targets, heatmaps)


def randomise_appearance(images: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """(B,T,3,S,S) RGB in [0,1] -> a new tensor: per sequence a strong colour change (brightness, contrast,
    per-channel gain, sometimes the channels shuffled), grey for a fifth of them, a blur for two fifths, and
    sensor noise of a random level, fresh in every frame."""
    b, size = images.shape[0], images.shape[-1]
    gain = rng.uniform(0.5, 1.5, (b, 1, 1, 1, 1)) * rng.uniform(0.7, 1.3, (b, 1, 3, 1, 1))
    contrast = rng.uniform(0.5, 1.5, (b, 1, 1, 1, 1))
    out = images.clone()
    for i in np.nonzero(rng.random(b) < 0.2)[0]:  # another hue altogether: no skin colour to rely on
        out[i] = out[i][:, rng.permutation(3)]
    grey = torch.from_numpy(rng.random(b) < 0.2)
    luma = (out * torch.tensor(_LUMA).view(1, 1, 3, 1, 1)).sum(dim=2, keepdim=True)
    out = torch.where(grey[:, None, None, None, None], luma.expand_as(out), out)
    mean = out.mean(dim=(1, 2, 3, 4), keepdim=True)
    out = ((out - mean) * torch.from_numpy(contrast).float() + mean) * torch.from_numpy(gain).float()
    for i in np.nonzero(rng.random(b) < 0.4)[0]:
        out[i] = _blur(out[i], float(rng.uniform(0.5, 2.0)) * size / 128.0)
    level = torch.from_numpy(rng.uniform(0.0, 0.06, (b, 1, 1, 1, 1))).float()
    generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
    out = out + torch.randn(out.shape, generator=generator) * level
    return out.clamp_(0.0, 1.0)


def _blur(frames: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of (T,C,S,S) frames, separable, edges reflected."""
    radius = max(1, int(round(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel = kernel / kernel.sum()
    c = frames.shape[1]
    padded = F.pad(frames, (radius, radius, radius, radius), mode="reflect")
    out = F.conv2d(padded, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(out, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
