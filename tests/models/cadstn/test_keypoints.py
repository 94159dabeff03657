"""RGB-D inputs: simulated detector keypoints drawn as heatmaps in training; MediaPipe's landmarks live."""
from __future__ import annotations

import numpy as np

from calibration.intrinsics import CameraIntrinsics
from models import depth_crop
from models.cadstn.keypoints import KeypointInputs, crop_heatmaps


def test_training_heatmaps_peak_near_the_keypoints_and_vanish_with_dropout():
    rng = np.random.default_rng(0)
    uv = rng.uniform(-0.5, 0.5, (40, 3, 21, 2)).astype(np.float32)
    depth = rng.uniform(-1, 1, (40, 3, 1, 32, 32)).astype(np.float32)
    out = KeypointInputs(32, sigma=1.5, dropout=0.5)(rng, depth, uv)
    assert out.shape == (40, 3, 22, 32, 32)
    np.testing.assert_array_equal(out[:, :, 0], depth[:, :, 0])  # the crop is untouched
    maps = out[:, :, 1:]
    empty = ~maps.any(axis=(2, 3, 4))  # (B, T): frames without keypoints
    assert 0.3 < empty[:, 0].mean() < 0.8  # about half the windows have none
    shown = ~empty
    # where a map is drawn, its peak sits within a few pixels of the true keypoint (detector errors move it)
    peak = maps.reshape(40, 3, 21, -1).argmax(-1)
    rows, cols = np.divmod(peak, 32)
    true_px = (uv + 1) * 16 - 0.5
    dist = np.hypot(cols - true_px[..., 0], rows - true_px[..., 1])
    assert np.median(dist[shown]) < 2.5


def test_live_heatmaps_are_drawn_where_the_crop_shows_the_landmarks():
    cam = CameraIntrinsics(fx=475.0, fy=475.0, cx=160.0, cy=120.0, width=320, height=240)
    depth = np.full((240, 320), 900, np.uint16)
    depth[100:140, 140:180] = 600
    centre = depth_crop.pixel_to_camera_mm(np.array([160.0, 120.0, 620.0]), cam)
    crop = depth_crop.crop_depth(depth, centre, cam, size=64, upright=True, angle=0.7)
    landmarks = np.tile([[160.0, 120.0]], (21, 1))
    landmarks[5] = (150.0, 110.0)
    maps = crop_heatmaps(landmarks, crop, sigma=1.5)
    assert maps.shape == (1, 21, 64, 64)
    row, col = np.unravel_index(maps[0, 5].argmax(), (64, 64))
    expected = (depth_crop.pixels_to_crop(landmarks[5], crop) + 1) * 32 - 0.5
    assert abs(col - expected[0]) <= 1 and abs(row - expected[1]) <= 1
    assert not crop_heatmaps(None, crop, 1.5).any()  # a depth-only source
