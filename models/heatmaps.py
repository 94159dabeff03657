"""2-D hand keypoints as Gaussian heatmaps in a crop's pixel grid: the extra input channels of the
keypoint-conditioned networks: SeqHAND-Net (the image-plus-heatmaps input of Boukhayma et al. 2019) and
CADSTN on RGB-D (MediaPipe's landmarks on the registered colour, drawn in the depth crop).

numpy only: training draws them from simulated detections and the live engine from MediaPipe's landmarks,
with no torch in the engine. Crop coordinates are the network's own ([-1, 1] spans the crop from the outer
edge of its first pixel to that of its last), so pixel centres sit at (q + 1) / 2 * S - 0.5, as in
`models.synth.render_rgb.crop_to_pixels`.
"""
from __future__ import annotations

import numpy as np

NUM_KEYPOINTS = 21
TAIL = 1e-12  # smaller Gaussian values are 0 (their products stay far from float32's denormal range)


def keypoint_heatmaps(uv_crop: np.ndarray, size: int, sigma: float) -> np.ndarray:
    """Keypoints (..., 21, 2) in crop coordinates -> heatmaps (..., 21, size, size) float32.

    Each map is exp(-d^2 / (2 sigma^2)) of the distance d in pixels from the pixel centre to its keypoint: 1 at
    the keypoint, `sigma` in crop pixels. A keypoint outside the crop leaves only the tail of its Gaussian
    (nothing when it is far out), as a crop edge cuts a real detection.
    """
    uv = np.asarray(uv_crop, dtype=np.float32)
    if uv.shape[-2:] != (NUM_KEYPOINTS, 2):
        raise ValueError(f"keypoints must have shape (..., {NUM_KEYPOINTS}, 2), got {uv.shape}")
    if sigma <= 0:
        raise ValueError(f"heatmap sigma must be positive, got {sigma}")
    px = (uv + 1.0) * (size / 2.0) - 0.5  # (..., 21, 2) pixel coordinates
    grid = np.arange(size, dtype=np.float32)
    scale = np.float32(-0.5 / (sigma * sigma))
    # separable: exp(-(dx^2 + dy^2) / 2s^2) = exp(-dx^2 / 2s^2) * exp(-dy^2 / 2s^2)
    gx = np.exp(np.square(grid - px[..., 0:1]) * scale)  # (..., 21, S) along x
    gy = np.exp(np.square(grid - px[..., 1:2]) * scale)  # (..., 21, S) along y
    # the far tails are cut to 0: float32 denormals there made ONNX Runtime's convolutions 8x slower
    gx[gx < TAIL] = 0.0
    gy[gy < TAIL] = 0.0
    return gy[..., :, None] * gx[..., None, :]
