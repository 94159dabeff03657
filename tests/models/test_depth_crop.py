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


def _stick(angle_deg: float, z: float = 600.0):
    """A 'hand' along `angle_deg` in the image (0 = right, 90 = down): a wide palm blob at one end, a
    long thin 'finger' reaching 80 px from the blob's centre to the tip; a wall beyond the cube fills the
    rest. → depth, the tip's and the blob's pixels."""
    depth = np.full((240, 320), int(z + 300), np.uint16)
    vv, uu = np.mgrid[0:240, 0:320]
    a = np.radians(angle_deg)
    palm = np.array([160.0, 120.0]) - 30 * np.array([np.cos(a), np.sin(a)])
    tip = palm + 80 * np.array([np.cos(a), np.sin(a)])
    along = (uu - palm[0]) * np.cos(a) + (vv - palm[1]) * np.sin(a)
    across = -(uu - palm[0]) * np.sin(a) + (vv - palm[1]) * np.cos(a)
    hand = ((uu - palm[0]) ** 2 + (vv - palm[1]) ** 2 < 25 ** 2) | ((along > 0) & (along < 80) & (np.abs(across) < 6))
    depth[hand] = int(z)
    return depth, tip, palm


@pytest.mark.parametrize("angle_deg", [-90.0, 0.0, 60.0, 135.0, -100.0])
def test_upright_crop_turns_the_hand_up_and_the_joints_with_it(angle_deg):
    depth, tip, palm = _stick(angle_deg)
    centre = depth_crop.pixel_to_camera_mm(np.array([160.0, 120.0, 600.0]), CAM)
    crop = depth_crop.crop_depth(depth, centre, CAM, cube_mm=250.0, size=64, upright=True)
    # the finger, the side reaching further from the pixels' centroid, now points up the crop
    rows, cols = np.nonzero(crop.depth < 1.0)
    assert np.ptp(rows) > 1.8 * np.ptp(cols) and abs(cols.mean() - 31.5) < 1.0  # long axis vertical, centred
    # a joint at the tip lands straight above the crop centre, and joints go back to the camera exactly
    joints = depth_crop.pixel_to_camera_mm(np.array([[*tip, 600.0], [*palm, 600.0]]), CAM)
    normed = depth_crop.joints_to_crop(joints, crop)
    assert abs(normed[0, 0]) < 0.05 and normed[0, 1] < -0.3
    np.testing.assert_allclose(depth_crop.joints_to_camera_mm(normed, crop), joints, atol=1e-6)
    # what a turned crop shows is the disc all turns share: a wall within the cube is background beyond it
    wall = depth_crop.crop_depth(np.full((240, 320), 650, np.uint16), centre, CAM, size=64,
                                                      upright=True).depth
    grid = (np.arange(64) + 0.5) / 64 * 2 - 1
    outside = grid[None, :] ** 2 + grid[:, None] ** 2 > 1.0
    assert (wall[outside] == 1.0).all() and (wall[~outside] < 1.0).all()


def test_upright_angle_follows_the_hand_and_is_zero_without_one():
    angles = [depth_crop.crop_depth(_stick(a)[0], depth_crop.pixel_to_camera_mm(np.array([160.0, 120.0, 600.0]),
                                                                                   CAM), CAM, size=64,
                                    upright=True).angle for a in (0.0, 90.0)]
    # the image's up turned by the angle is the finger's direction: right (0°) and down (90°)
    assert (np.degrees(angles[0]) % 360 == pytest.approx(90.0, abs=3)
            and abs(np.degrees(angles[1])) % 360 == pytest.approx(180.0, abs=3))
    assert depth_crop.hand_axis_angle(np.ones((32, 32), np.float32)) == 0.0


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


def test_joint_axis_turns_the_wrist_to_middle_knuckle_direction_up():
    # keypoints in the image: the middle knuckle up and to the right of the wrist, at 45°
    points = np.zeros((21, 2))
    points[0], points[9] = (150.0, 140.0), (180.0, 110.0)
    angle = depth_crop.joint_axis_angle(points)
    assert np.degrees(angle) == pytest.approx(45.0)
    depth, _, _ = _stick(-45.0)
    centre = depth_crop.pixel_to_camera_mm(np.array([160.0, 120.0, 600.0]), CAM)
    crop = depth_crop.crop_depth(depth, centre, CAM, size=64, upright=True, angle=angle)
    assert crop.angle == angle  # the given turn, not the crop's own axis
    wrist, knuckle = depth_crop.pixels_to_crop(points[[0, 9]], crop)
    assert knuckle[0] == pytest.approx(wrist[0], abs=1e-6) and knuckle[1] < wrist[1] - 0.1  # straight up


@pytest.mark.parametrize("angle_deg", [0.0, 30.0, -120.0])
def test_pixels_to_crop_lands_where_the_crop_shows_that_pixel(angle_deg):
    depth = np.full((240, 320), 1400, np.uint16)
    depth[95:100, 170:175] = 600  # a small patch near the crop centre
    centre = depth_crop.pixel_to_camera_mm(np.array([160.0, 110.0, 620.0]), CAM)
    crop = depth_crop.crop_depth(depth, centre, CAM, size=64, upright=True, angle=np.radians(angle_deg))
    q = depth_crop.pixels_to_crop(np.array([172.0, 97.0]), crop)
    col, row = np.rint((q + 1.0) * 32 - 0.5).astype(int)
    assert crop.depth[row, col] < 1.0  # the patch is there in the turned crop
    rows, cols = np.nonzero(crop.depth < 1.0)
    assert abs(rows.mean() - row) < 1.0 and abs(cols.mean() - col) < 1.0


def test_recentring_with_follow_axis_turns_each_cut_by_the_joints_found():
    depth, _, _ = _stick(20.0)
    centre = depth_crop.pixel_to_camera_mm(np.array([160.0, 120.0, 600.0]), CAM)
    # the network "finds" a hand whose middle knuckle lies straight to the left of its wrist in the image
    joints_mm = np.tile(centre, (21, 1))
    joints_mm[9, 0] -= 40.0
    seen = []

    def predict(crop):
        seen.append(crop.angle)
        return depth_crop.joints_to_crop(joints_mm, crop)

    crop = depth_crop.recentred_crop(depth, centre, CAM, predict, passes=1, size=64, upright=True,
                                     follow_axis=True)
    assert np.degrees(crop.angle) % 360 == pytest.approx(270.0, abs=1e-6)  # left turned up
    kept = depth_crop.recentred_crop(depth, centre, CAM, predict, passes=1, size=64, upright=True, angle=0.5)
    assert kept.angle == 0.5 and seen[-1] == 0.5  # without follow_axis a given turn holds


def test_recentring_with_follow_axis_looks_again_until_the_turn_settles():
    depth, _, _ = _stick(20.0)
    centre = depth_crop.pixel_to_camera_mm(np.array([160.0, 120.0, 600.0]), CAM)
    seen = []

    def settled(crop):  # a network that finds the middle knuckle straight left of the wrist, whatever the crop
        seen.append(crop.angle)
        joints_mm = np.tile(centre, (21, 1))
        joints_mm[9, 0] -= 40.0
        return depth_crop.joints_to_crop(joints_mm, crop)

    crop = depth_crop.recentred_crop(depth, centre, CAM, settled, passes=1, size=64, upright=True, angle=0.3,
                                     follow_axis=True)
    # the first re-cut turned the crop by far more than SETTLE_DEG, so one more look; that one agreed: done
    assert len(seen) == 2 and np.degrees(crop.angle) % 360 == pytest.approx(270.0, abs=1e-6)
    seen.clear()

    def spinning(crop):  # a network whose hand always lies 90° off the crop's up: the turn never settles
        seen.append(crop.angle)
        joints = np.zeros((21, 3))
        joints[9, 0] = 0.3  # in the crop's own frame: the middle knuckle right of the wrist
        return joints

    depth_crop.recentred_crop(depth, centre, CAM, spinning, passes=1, size=64, upright=True, angle=0.3,
                              follow_axis=True)
    assert len(seen) == 1 + depth_crop.SETTLE_PASSES  # bounded: at most SETTLE_PASSES more looks
    seen.clear()
    depth_crop.recentred_crop(depth, centre, CAM, spinning, passes=1, size=64, upright=True, angle=0.3)
    assert len(seen) == 1  # a given turn that is not followed: the passes asked for only
    seen.clear()
    depth_crop.recentred_crop(depth, centre, CAM, spinning, passes=0, size=64, upright=True, angle=0.3,
                              follow_axis=True)
    assert seen == []  # no recentring asked for: no look at all


def test_bounding_box_grows_by_the_margin_within_the_image():
    mask = np.zeros((20, 30), bool)
    mask[5:8, 10:12] = True
    assert depth_crop.bounding_box(mask, 2) == (slice(3, 10), slice(8, 14))
    mask[0, 29] = True  # touching the top right corner: the box stops at the image's edges
    rows, cols = depth_crop.bounding_box(mask, 2)
    assert (rows.start, rows.stop, cols.start, cols.stop) == (0, 10, 8, 30) and mask[rows, cols].sum() == mask.sum()


def test_the_outline_test_on_the_blobs_box_scores_as_on_the_whole_image():
    """`standout` looks only at the blob's bounding box: it must score exactly as the same test on the whole image,
    also for blobs at the image's edges and corners and with an image of jumps."""
    import cv2

    def whole_image(depth, valid, blob, jump_mm):
        inside = np.where(blob, depth, np.float32(1e7)).astype(np.float32)
        nearest = cv2.erode(inside, np.ones((5, 5), np.uint8))
        outline = (nearest < 1e7) & ~blob
        if not outline.any():
            return 0.0
        jumps = np.broadcast_to(jump_mm, depth.shape)[outline]
        return float((~valid[outline] | (depth[outline] - nearest[outline] > jumps)).mean())

    rng = np.random.default_rng(3)
    for r, c in ((0, 0), (25, 35), (50, 70), (0, 40), (30, 0)):
        depth = rng.uniform(400.0, 1200.0, (60, 80)).astype(np.float32)
        valid = rng.random(depth.shape) > 0.1
        blob = np.zeros(depth.shape, bool)
        blob[r:r + 10, c:c + 10] = True
        depth[blob] = 500.0
        for jump_mm in (40.0, rng.uniform(10.0, 60.0, depth.shape).astype(np.float32)):
            assert depth_crop.standout(depth, valid, blob, jump_mm) == whole_image(depth, valid, blob, jump_mm)
