"""Square crops: 2.2x the hand box, mirroring for left hands, and the exact way back to pixels."""
from __future__ import annotations

import numpy as np

from engine.crop import CROP_SCALE, crop_image, crop_to_image, image_to_crop, square_box


def test_square_box_is_2_2_times_the_longer_edge_around_the_centre():
    box = square_box(np.array([[100.0, 50.0], [140.0, 130.0], [120.0, 90.0]]))
    assert (box.cx, box.cy) == (120.0, 90.0)
    assert box.size == CROP_SCALE * 80.0


def test_crop_coordinates_round_trip_and_the_mirror_flips_x():
    pts = np.array([[210.0, 95.0], [170.0, 140.0]])
    for mirrored in (False, True):
        box = square_box(np.array([[150.0, 80.0], [230.0, 160.0]]), mirrored=mirrored)
        np.testing.assert_allclose(crop_to_image(image_to_crop(pts, box), box), pts, atol=1e-9)
    right = image_to_crop(pts, square_box(np.array([[150.0, 80.0], [230.0, 160.0]])))
    left = image_to_crop(pts, square_box(np.array([[150.0, 80.0], [230.0, 160.0]]), mirrored=True))
    np.testing.assert_allclose(left, right * np.array([-1.0, 1.0]))


def test_a_marked_pixel_lands_where_the_crop_coordinates_say():
    image = np.zeros((240, 320, 3), np.uint8)
    image[100, 200] = 255  # one white pixel right of the box centre
    for mirrored in (False, True):
        box = square_box(np.array([[150.0, 60.0], [210.0, 120.0]]), mirrored=mirrored)
        crop = crop_image(image, box, 64)
        found = np.unravel_index(np.argmax(crop[..., 0]), crop.shape[:2])
        uv = image_to_crop(np.array([[200.0, 100.0]]), box)[0]
        expected = ((uv + 1.0) * 64 / 2.0) - 0.5  # crop pixel centres
        assert abs(found[1] - expected[0]) <= 1 and abs(found[0] - expected[1]) <= 1
        assert (found[1] < 32) == mirrored  # the mirror puts the right-hand side on the left
