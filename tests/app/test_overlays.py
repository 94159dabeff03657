"""What the camera view draws: colour-mapped depth, crop boxes, skeleton."""
from __future__ import annotations

import numpy as np

from app.overlays import HAND_COLOURS, depth_to_rgb, draw_overlays, frame_image
from engine.frames import Frame
from engine.results import FrameResult, HandResult


def test_depth_colour_map_near_red_far_blue_missing_black():
    depth = np.array([[300, 1400, 0]], np.uint16)
    rgb = depth_to_rgb(depth)
    near, far, missing = rgb[0]
    assert near[0] > near[2] and far[2] > far[0]
    assert missing.tolist() == [0, 0, 0]


def test_frame_image_falls_back_to_depth_without_colour(image_array):
    depth = np.full((40, 60), 500, np.uint16)
    shown = image_array(frame_image(Frame(0, 0.0, rgb=None, depth=depth), show_depth=False))
    assert shown.shape == (40, 60, 3)
    assert np.array_equal(shown[0, 0], depth_to_rgb(depth)[0, 0])


def test_overlays_draw_box_and_skeleton_where_the_hand_is(qapp, image_array):  # text needs a Qt app (fonts)
    rgb = np.zeros((200, 200, 3), np.uint8)
    joints = np.stack([np.full(21, 100.0), np.linspace(150, 60, 21)], axis=1).astype(np.float32)
    hand = HandResult(track_id=1, handedness="left", confidence=0.9, box=(50, 50, 150, 160),
                      joints_2d=joints, joints_3d=np.zeros((21, 3), np.float32))
    image = frame_image(Frame(0, 0.0, rgb=rgb), show_depth=False)
    draw_overlays(image, FrameResult(0, 0.0, hands=[hand]))
    out = image_array(image)
    box_colour = np.array(HAND_COLOURS["left"].getRgb()[:3])
    assert np.abs(out[100, 50].astype(int) - box_colour).max() < 30      # left edge of the box
    assert out[120, 100].max() > 100                                      # the skeleton's line
    assert out[10, 190].max() == 0 and out[190, 10].max() == 0            # away from the hand
    untouched = frame_image(Frame(0, 0.0, rgb=rgb), show_depth=False)
    draw_overlays(untouched, FrameResult(0, 0.0))
    assert image_array(untouched).max() == 0
