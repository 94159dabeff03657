"""MediaPipe's palm detector run directly: its anchors, and hands read in its crops as MediaPipe reads them."""
from __future__ import annotations

import numpy as np

from engine.demo import render_demo_frame
from models.mediapipe_hands import MediaPipeHands
from models.mediapipe_landmarks import LandmarkNetwork
from models.mediapipe_palms import PalmDetector, anchor_centres


def test_anchors_cover_the_input_in_the_networks_order() -> None:
    anchors = anchor_centres()
    assert anchors.shape == (2016, 2)
    assert np.allclose(anchors[0], [0.5 / 24, 0.5 / 24]) and np.allclose(anchors[1], anchors[0])  # 2 per cell
    assert np.allclose(anchors[2], [1.5 / 24, 0.5 / 24])  # x runs first
    assert np.allclose(anchors[1152], [0.5 / 12, 0.5 / 12]) and np.allclose(anchors[1157], anchors[1152])
    assert np.allclose(anchors[-1], [11.5 / 12, 11.5 / 12])


def test_hands_in_the_palm_crops_are_mediapipes_own() -> None:
    """The landmark network in the palm detector's crops finds the hands MediaPipe's whole HandLandmarker finds,
    where it finds them (a palm crop a pixel or two off moves the landmarks ~1-3 px on this ~230 px hand).

    Its presence is what MediaPipe keeps a hand by (0.5). One demo pose (t = 1.11 s) sits at that edge: 0.51 and 0.55
    (the right hand, the mirrored one) on hand model 1.3's render, 0.50 and 0.49 on 1.4's; 0.73-0.97 elsewhere. A
    crop a pixel off moves it that much, so the edge is not held to the hundredth."""
    palms, network = PalmDetector(max_palms=2, fp16=False), LandmarkNetwork(fp16=False)  # as MediaPipe runs them
    landmarker = MediaPipeHands(max_hands=2, stills=True)
    blank = np.full((480, 640, 3), 90, np.uint8)
    try:
        assert palms.detect(blank) == []
        errors, presences = [], []
        for t in np.linspace(0.0, 3.9, 8):
            rgb = render_demo_frame(float(t), "rgb")[0]
            for image in (rgb, np.ascontiguousarray(rgb[:, ::-1])):  # a right hand and a left one
                rois = palms.detect(image)
                theirs = landmarker.detect(image)
                assert len(rois) == len(theirs) == 1
                ours, presence = network.run(image, rois[0])
                presences.append(presence)
                errors.append(np.linalg.norm(ours.landmarks - theirs[0].landmarks, axis=1).mean())
    finally:
        landmarker.close()
    assert np.median(errors) < 4.0 and max(errors) < 20.0
    assert min(presences) > 0.45 and np.median(presences) > 0.85, presences
