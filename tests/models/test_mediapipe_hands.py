"""MediaPipe's landmarker as arrays: landmarks, relative depth and metric landmarks; quiet unless debugging."""
from __future__ import annotations

import numpy as np
import pytest

from models.mediapipe_hands import MediaPipeHands


def test_demo_hand_has_landmarks_relative_depth_and_metric_landmarks() -> None:
    from engine.demo import render_demo_frame

    rgb, _ = render_demo_frame(0.0, "rgb")
    hands = MediaPipeHands(max_hands=1, stills=True)
    try:
        found = hands.detect(rgb)
    finally:
        hands.close()
    assert len(found) == 1
    hand = found[0]
    assert hand.landmarks.shape == (21, 2) and hand.relative_z.shape == (21,) and hand.world.shape == (21, 3)
    assert abs(hand.relative_z[0]) < 1.0  # relative to the wrist
    # a metric hand: wrist to middle knuckle 6-12 cm
    assert 0.06 < np.linalg.norm(hand.world[9] - hand.world[0]) < 0.12


@pytest.mark.parametrize("debug", [False, True])
def test_native_start_up_logging_only_with_debug(capfd, monkeypatch, debug: bool) -> None:
    if debug:
        monkeypatch.setenv("HANDSTREAM_DEBUG", "1")
    else:
        monkeypatch.delenv("HANDSTREAM_DEBUG", raising=False)
    MediaPipeHands(max_hands=1).close()
    err = capfd.readouterr().err
    assert (err != "") == debug
