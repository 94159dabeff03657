"""Depth sensor models: the geometry of shadows, noise growth, flying pixels, holes, grazing surfaces."""
from __future__ import annotations

import dataclasses
import hashlib

import cv2
import numpy as np
import pytest

from models.synth.depth_sensor import (
    ACTIVE_STEREO,
    SIMPLE,
    STRUCTURED_LIGHT,
    choose_profile,
    sensor_depth,
    shadow_mask,
)

# a profile with nothing random but the noise: the geometry can be checked exactly
QUIET = dict(disparity_noise_px=0.0, fatten=0.0, thin_loss=0.0, flying_px=0.0, erode_px=0.0, hole_rate=0.0)


def step_image(f_width: int = 200, near: float = 500.0, far: float = 1000.0) -> np.ndarray:
    """A wall at `far` with a bar at `near` in columns 100–139."""
    z = np.full((40, f_width), far, np.float32)
    z[:, 100:140] = near
    return z


@pytest.mark.parametrize("sensor, side", [(ACTIVE_STEREO, "left"), (STRUCTURED_LIGHT, "right")])
@pytest.mark.parametrize("f_image, pixel_scale", [(600.0, 1.0), (120.0, 5.0)])
def test_shadow_band_lies_on_the_sensor_side_with_the_width_geometry_gives(sensor, side, f_image, pixel_scale
                                                                           ) -> None:
    z = step_image()
    out = sensor_depth(z, f_image, np.random.default_rng(0), dataclasses.replace(sensor, **QUIET), pixel_scale)
    width = f_image * sensor.baseline_mm * (1 / 500.0 - 1 / 1000.0)  # px in this image, whatever its scale
    missing = out[20] == 0
    left, right = missing[:100].sum(), missing[140:].sum()
    shadowed, clear = (left, right) if side == "left" else (right, left)
    assert abs(shadowed - width) <= 1.0
    assert clear == 0
    assert not missing[100:140].any()  # the bar itself is measured


def test_shadow_mask_of_a_surface_turned_away_from_the_second_view() -> None:
    # a slope whose depth grows faster leftward than the second view (on the right) can follow is self-shadowed
    u = np.arange(100, dtype=np.float32)
    z = np.tile(400.0 + np.where(u < 50, (50 - u) * 30.0, 0.0), (4, 1)).astype(np.float32)
    hidden = shadow_mask(z, 600.0, 50.0, "left")
    assert hidden[:, 5:45].all() and not hidden[:, 55:].any()


@pytest.mark.parametrize("sensor", [ACTIVE_STEREO, STRUCTURED_LIGHT])
def test_noise_grows_with_the_square_of_depth(sensor) -> None:
    quiet = dataclasses.replace(sensor, **{**QUIET, "disparity_noise_px": sensor.disparity_noise_px * 8},
                                range_mm=(0.0, 1e4))
    sigma = []
    for z0 in (700.0, 1400.0):
        z = np.full((160, 160), z0, np.float32)
        out = sensor_depth(z, 600.0, np.random.default_rng(1), quiet).astype(np.float64)
        sigma.append(np.std(out[out > 0] - z0))
    assert 3.2 < sigma[1] / sigma[0] < 4.8  # twice as far: four times the noise


@pytest.mark.parametrize("sensor", [ACTIVE_STEREO, STRUCTURED_LIGHT])
def test_flying_pixels_lie_between_finger_and_background(sensor) -> None:
    z = step_image()
    out = sensor_depth(z, 600.0, np.random.default_rng(2), sensor).astype(np.float64)
    odd = (out > 0) & (np.abs(out - 500) > 15) & (np.abs(out - 1000) > 40)
    assert odd.sum() >= 5
    assert ((out[odd] > 500) & (out[odd] < 1000)).all()


def test_grazing_surfaces_are_missing_and_facing_ones_are_not() -> None:
    quiet = dataclasses.replace(STRUCTURED_LIGHT, **QUIET)
    u = np.arange(64, dtype=np.float32)[None, :]
    for angle, missing in ((80.0, 1.0), (30.0, 0.0)):
        # a plane through z = 600 on the axis, turned by `angle` about the vertical axis (f = 600, cx = 32)
        slope = np.tan(np.radians(angle))
        z = np.repeat(600.0 / (1 - (u - 32) / 600.0 * slope), 32, axis=0).astype(np.float32)
        out = sensor_depth(z, 600.0, np.random.default_rng(3), quiet)
        assert np.mean(out[:, 2:-2] == 0) == pytest.approx(missing, abs=0.05)


def test_random_holes_are_blobs() -> None:
    sensor = dataclasses.replace(ACTIVE_STEREO, **{**QUIET, "hole_rate": 0.03})
    out = sensor_depth(np.full((200, 200), 800.0, np.float32), 600.0, np.random.default_rng(4), sensor)
    count, _, stats, _ = cv2.connectedComponentsWithStats((out == 0).astype(np.uint8))
    assert count > 5
    assert np.median(stats[1:, cv2.CC_STAT_AREA]) >= 9  # not single pixels


def test_thin_structures_are_lost_or_fattened_by_the_window() -> None:
    z = np.full((60, 120), 800.0, np.float32)
    z[:, 60:62] = 450.0  # a finger two sensor pixels wide, far thinner than the 9 px window
    sensor = dataclasses.replace(STRUCTURED_LIGHT, thin_loss=1.0, fatten=0.0, flying_px=0.0, hole_rate=0.0)
    out = sensor_depth(z, 600.0, np.random.default_rng(5), sensor)
    assert np.mean(out[:, 60:62] == 0) > 0.9
    fat = dataclasses.replace(STRUCTURED_LIGHT, thin_loss=0.0, fatten=1.0, flying_px=0.0, erode_px=0.0,
                              hole_rate=0.0, disparity_noise_px=0.0)
    out = sensor_depth(z, 600.0, np.random.default_rng(5), fat)
    finger = np.abs(out[30].astype(np.float64) - 450.0) < 10
    assert finger.sum() > 2 + 4  # wider than it is: the window spreads the near depth sideways


def test_simple_profile_is_the_first_noise_model_bit_for_bit() -> None:
    """Digest of the pre-profile `render_depth.sensor_noise` on this input (commit 2035b78)."""
    z = np.full((48, 64), 900.0, np.float32)
    z[10:40, 20:44] = 450.0 + np.arange(24, dtype=np.float32)
    z[:, :4] = 0
    out = sensor_depth(z, 120.0, np.random.default_rng(7), SIMPLE, pixel_scale=615.0 / 120.0)
    assert hashlib.sha256(out.tobytes()).hexdigest() == \
        "6006c38af91adeed04dd3569083e00115a96a2f4074242eb37826a1af49b2c5e"


def test_mixed_picks_a_realistic_profile_per_sequence_deterministically() -> None:
    picks = [choose_profile("mixed", np.random.default_rng([3, i, 4])).name for i in range(40)]
    again = [choose_profile("mixed", np.random.default_rng([3, i, 4])).name for i in range(40)]
    assert picks == again
    assert set(picks) == {"active_stereo", "structured_light"}
    assert choose_profile("simple", np.random.default_rng(0)) is SIMPLE
    with pytest.raises(ValueError, match="sensor"):
        choose_profile("lidar", np.random.default_rng(0))


def test_nothing_beyond_the_working_range() -> None:
    z = np.full((32, 32), 1800.0, np.float32)
    assert not sensor_depth(z, 600.0, np.random.default_rng(6), STRUCTURED_LIGHT).any()
    assert np.mean(sensor_depth(z, 600.0, np.random.default_rng(6), ACTIVE_STEREO) > 0) > 0.95
