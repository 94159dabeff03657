"""Depth hand detection: nearest blobs, forearm and wall ignored, centres of mass inside the hand."""
from __future__ import annotations

import cv2
import numpy as np

from engine.demo import DEMO_INTRINSICS as K
from engine.demo import _hand_pose, render_demo_frame
from engine.detect_depth import DepthHandDetector


def test_the_demo_hand_is_found_once_with_its_centre_on_the_palm_not_the_forearm():
    detector = DepthHandDetector(max_hands=2)
    for t in (0.0, 1.0, 2.5):
        _, depth = render_demo_frame(t, "depth")
        (hand,) = detector.detect(depth, K.fx, K.fy)  # the forearm and the wall are not hands
        centre, z, _, _ = _hand_pose(t)
        palm_px = np.array([K.cx + K.fx * centre[0] / z, K.cy + K.fy * centre[1] / z])
        assert np.linalg.norm(hand.centre - palm_px) < 0.25 * K.fx * 90.0 / z  # within a quarter hand
        assert abs(hand.centre_uvz[2] - z) < 40.0


def test_nothing_in_range_and_specks_give_no_hands():
    detector = DepthHandDetector()
    wall = np.full((K.height, K.width), 1400, np.uint16)
    assert detector.detect(wall, K.fx, K.fy) == []
    specks = wall.copy()
    specks[100:102, 200:202] = 400  # a few noisy pixels close to the camera
    assert detector.detect(specks, K.fx, K.fy) == []
    assert detector.detect(np.zeros((K.height, K.width), np.uint16), K.fx, K.fy) == []


def test_two_hands_at_different_depths_are_both_found():
    depth = np.full((K.height, K.width), 1400, np.uint16)
    cv2.circle(depth, (180, 240), 70, 450, -1)
    cv2.circle(depth, (470, 230), 55, 640, -1)
    found = DepthHandDetector(max_hands=2).detect(depth, K.fx, K.fy)
    assert len(found) == 2
    near, far = sorted(found, key=lambda d: d.centre_uvz[2])
    assert np.allclose(near.centre, (180, 240), atol=4) and np.allclose(far.centre, (470, 230), atol=4)
    assert abs(near.centre_uvz[2] - 450) < 2 and abs(far.centre_uvz[2] - 640) < 2
    assert len(DepthHandDetector(max_hands=1).detect(depth, K.fx, K.fy)) == 1
