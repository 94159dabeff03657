"""DeepPrior preprocessing: centre, crop, exact inverse, sliced volume, bad depth."""
from __future__ import annotations

import numpy as np
import pytest

from calibration.intrinsics import CameraIntrinsics
from models import depth_crop

CAM = CameraIntrinsics(fx=475.0, fy=475.0, cx=160.0, cy=120.0, width=320, height=240)


def _scene(centre_uv=(180, 100), z=600.0):
    """A 'hand': a disk of radius 20 px with a slanted surface, plus a far wall."""
    depth = np.full((240, 320), 1400, np.uint16)
    vv, uu = np.mgrid[0:240, 0:320]
    disk = (uu - centre_uv[0]) ** 2 + (vv - centre_uv[1]) ** 2 < 45 ** 2
    depth[disk] = (z + (uu[disk] - centre_uv[0]) * 1.0).astype(np.uint16)
    depth[0:5, 0:5] = 0  # some missing readings
    return depth


BEHIND = depth_crop.CENTRE_BEHIND_SURFACE_MM


def test_centre_of_mass_finds_the_nearest_blob():
    depth = _scene()
    centre = depth_crop.hand_centre_mm(depth, CAM)
    u, v, z = depth_crop.camera_mm_to_pixel(centre, CAM)
    assert abs(u - 180) < 2 and abs(v - 100) < 2 and abs(z - 600 - BEHIND) < 5  # behind the surface seen


@pytest.mark.parametrize("wall_mm", [700, 800])
def test_a_wall_within_the_slab_does_not_join_or_replace_the_hand(wall_mm):
    depth = _scene()
    depth[depth == 1400] = wall_mm  # the wall is less than a cube behind the hand, and touches it in the image
    u, v, z = depth_crop.camera_mm_to_pixel(depth_crop.hand_centre_mm(depth, CAM), CAM)
    assert abs(u - 180) < 3 and abs(v - 100) < 3 and abs(z - 600 - BEHIND) < 5


def test_crop_normalises_depth_and_inverts_joints_exactly():
    depth = _scene()
    centre = depth_crop.hand_centre_mm(depth, CAM)
    crop = depth_crop.crop_depth(depth, centre, CAM, cube_mm=250.0, size=64)
    assert crop.depth.shape == (64, 64) and crop.depth.dtype == np.float32
    assert crop.depth.min() >= -1.0 and crop.depth.max() == 1.0
    # the wall is 800 mm behind: background (+1); the hand's values lie near 0
    hand = crop.depth < 1.0
    assert 0.05 < hand.mean() < 0.6
    assert np.abs(crop.depth[hand] + BEHIND / 125.0).max() < 0.4  # the surface spans ±45 mm of a 125 mm half-cube
    # centre pixel of the crop looks at the hand's centre
    assert abs(crop.depth[32, 32] - (600 - centre[2]) / 125.0) < 0.05
    joints = centre + np.random.default_rng(0).uniform(-120, 120, size=(21, 3))
    normed = depth_crop.joints_to_crop(joints, crop)
    assert np.abs(normed).max() <= 1.0
    np.testing.assert_allclose(depth_crop.joints_to_camera_mm(normed, crop), joints, atol=1e-4)
    # the crop box is the cube's projection: 250 mm at ~600 mm with f=475 is ~198 px wide
    x0, y0, x1, y1 = crop.box
    assert x1 - x0 == pytest.approx(250.0 * CAM.fx / centre[2])


def test_recentring_moves_the_cube_to_the_joints_found_and_survives_a_broken_prediction():
    depth = _scene()
    start = depth_crop.hand_centre_mm(depth, CAM) + np.array([30.0, -20.0, 10.0])  # a detector that missed
    target = depth_crop.hand_centre_mm(depth, CAM)
    seen = []

    def predict(crop):  # a network that finds the hand: joints around the true centre, in this crop's frame
        seen.append(crop.centre_mm)
        joints = target + np.random.default_rng(0).normal(0.0, 30.0, (21, 3))
        joints += target - joints.mean(axis=0)
        return depth_crop.joints_to_crop(joints, crop)

    crop = depth_crop.recentred_crop(depth, start, CAM, predict, passes=2, size=32)
    np.testing.assert_allclose(crop.centre_mm, target, atol=1e-3)
    assert len(seen) == 2
    np.testing.assert_allclose(seen[0], start)
    plain = depth_crop.recentred_crop(depth, start, CAM, predict, passes=0, size=32)
    np.testing.assert_array_equal(plain.depth, depth_crop.crop_depth(depth, start, CAM, size=32).depth)
    broken = depth_crop.recentred_crop(depth, start, CAM, lambda crop: np.full((21, 3), np.nan), size=32)
    np.testing.assert_allclose(broken.centre_mm, start)


def test_crop_outside_the_image_is_background():
    depth = _scene(centre_uv=(305, 10))
    centre = depth_crop.hand_centre_mm(depth, CAM)
    crop = depth_crop.crop_depth(depth, centre, CAM, size=32)
    assert (crop.depth[:, -4:] == 1.0).all() and (crop.depth[:4] == 1.0).all()
    assert (crop.depth < 1.0).any()


def test_sliced_volume_on_a_hand_made_crop():
    crop = np.ones((4, 4), np.float32)
    crop[0, 0] = -0.5  # Dmin -> slice 0
    crop[0, 1] = 0.3  # Dmax -> last slice
    crop[1, 1] = -0.1  # (−0.1 + 0.5) / 0.8 * 4 = 2.0 -> slice 2
    crop[2, 2] = 0.09  # 0.59 / 0.8 * 4 = 2.95 -> slice 2
    crop[3, 3] = -0.31  # 0.19 / 0.8 * 4 = 0.95 -> slice 0
    volume = depth_crop.sliced_volume(crop, slices=4)
    assert volume.shape == (4, 4, 4) and volume.dtype == np.float32
    expected = {(0, 0, 0), (3, 0, 1), (2, 1, 1), (2, 2, 2), (0, 3, 3)}
    assert {tuple(i) for i in np.argwhere(volume == 1.0)} == expected
    assert volume.sum() == 5  # background pixels in no slice
    assert depth_crop.sliced_volume(np.ones((4, 4), np.float32)).sum() == 0


@pytest.mark.parametrize("bad, message", [
    (np.zeros((240, 320), np.uint16), "all zeros"),
    (np.full((240, 320), np.nan, np.float32), "NaN"),
    (np.full((240, 320), 500, np.int32), "dtype"),
    (np.full((240, 320, 3), 500, np.uint16), "HxW"),
])
def test_bad_depth_is_a_clear_value_error(bad, message):
    with pytest.raises(ValueError, match=message):
        depth_crop.hand_centre_mm(bad, CAM)
    with pytest.raises(ValueError, match=message):
        depth_crop.crop_depth(bad, np.array([0.0, 0.0, 500.0]), CAM)


def test_nothing_in_range_is_a_value_error():
    far = np.full((240, 320), 4000, np.uint16)
    with pytest.raises(ValueError, match="no readings between"):
        depth_crop.hand_centre_mm(far, CAM)
