"""MediaPipe's landmark network on a crop: MediaPipe's tracking crop, turned and moved with the hand."""
from __future__ import annotations

import math

import cv2
import numpy as np

from engine.demo import render_demo_frame
from models.mediapipe_hands import MediaPipeHands
from models.mediapipe_landmarks import INPUT_SIZE, roi_from_landmarks


def test_the_tracking_crop_turns_and_moves_with_the_hand() -> None:
    rgb = render_demo_frame(0.4, "rgb")[0]
    finder = MediaPipeHands(max_hands=1, stills=True)
    try:
        (hand,) = finder.detect(rgb)
    finally:
        finder.close()
    roi = roi_from_landmarks(hand.landmarks)
    # the crop's up direction is the wrist -> knuckles direction, the hand inside it
    M = roi.to_image()
    up = M[:, :2] @ np.array([0.0, -1.0])
    knuckles = hand.landmarks[[5, 9, 13]].mean(axis=0) - hand.landmarks[0]
    assert np.dot(up, knuckles) / (np.linalg.norm(up) * np.linalg.norm(knuckles)) > 0.95
    assert np.allclose(M @ np.array([INPUT_SIZE / 2, INPUT_SIZE / 2, 1.0]), roi.centre)
    inside = cv2.invertAffineTransform(M)[:, :2] @ hand.landmarks.T + cv2.invertAffineTransform(M)[:, 2:]
    assert inside.min() > 0 and inside.max() < INPUT_SIZE
    # the same hand turned by 40 degrees about a point and moved: the crop turns and moves with it
    angle = math.radians(40.0)
    R = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    pivot, shift = np.array([300.0, 200.0]), np.array([25.0, -10.0])
    turned = roi_from_landmarks((hand.landmarks - pivot) @ R.T + pivot + shift)
    assert math.isclose((turned.rotation - roi.rotation) % (2 * math.pi), angle, abs_tol=1e-9)
    assert math.isclose(turned.size, roi.size, rel_tol=1e-9)
    assert np.allclose(turned.centre, R @ (roi.centre - pivot) + pivot + shift)
