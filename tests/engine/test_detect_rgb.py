"""MediaPipe hand detection from the shipped bundle: offline, finds the demo hand, scheduled sparingly."""
from __future__ import annotations

import socket

import numpy as np
import pytest

from engine.demo import DEMO_INTRINSICS, demo_frame_index, demo_truth, render_demo_frame
from engine.detect_rgb import MediaPipeHandDetector
from engine.frames import Frame


def test_the_detector_finds_the_demo_hand_without_any_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the hand detector tried to open a network socket")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    detector = MediaPipeHandDetector()
    try:
        found = []
        for i in range(3):
            rgb, _ = render_demo_frame(0.5 + i / 30.0, "rgb")
            found.append(detector.detect(rgb, 0.5 + i / 30.0))
    finally:
        detector.close()
    assert all(len(f) == 1 for f in found)
    hand = found[-1][0]
    assert hand.handedness == "right" and hand.score > 0.5 and hand.landmarks.shape == (21, 2)
    # the landmarks are the rendered hand's joints (same 21-keypoint order), not points elsewhere
    truth = demo_truth().joints_2d[demo_frame_index(0.5 + 2 / 30.0)]
    assert np.linalg.norm(hand.landmarks - truth, axis=1).mean() < 15.0


def test_a_missing_bundle_is_a_one_line_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="hand detector bundle .*nothing.task is missing"):
        MediaPipeHandDetector(tmp_path / "nothing.task")


@pytest.mark.parametrize("stills", [False, True], ids=["video", "photos"])
@pytest.mark.parametrize("content", ["not a zip", "a zip of other files", "networks that are not networks"])
def test_a_broken_bundle_is_a_one_line_error(tmp_path, stills: bool, content: str):
    import zipfile

    bundle = tmp_path / "broken.task"
    if content == "not a zip":
        bundle.write_bytes(b"not a bundle")
    else:
        with zipfile.ZipFile(bundle, "w") as z:
            for name in (["readme.txt"] if content == "a zip of other files"
                         else ["hand_detector.tflite", "hand_landmarks_detector.tflite"]):
                z.writestr(name, b"\x00" * 64)
    with pytest.raises(ValueError, match="hand detector bundle .*broken.task.* cannot be loaded") as error:
        MediaPipeHandDetector(bundle, stills=stills)
    assert "\n" not in str(error.value)


def test_the_engine_runs_mediapipe_to_acquire_then_tracks_from_its_own_predictions(tiny_seqhand):
    from engine.stream import EngineOptions, StreamingEngine

    engine = StreamingEngine(EngineOptions(model="seqhand", model_path=tiny_seqhand, redetect_every=4,
                                           min_tracking_confidence=0.0))
    calls = []
    real_detect = engine._rgb_detector.detect
    engine._rgb_detector.detect = lambda rgb, ts: calls.append(ts) or real_detect(rgb, ts)
    try:
        hands = []
        for i in range(10):
            t = 0.5 + i / 30.0
            rgb, _ = render_demo_frame(t, "rgb")
            result = engine.process(Frame(i, t, rgb=rgb, intrinsics=DEMO_INTRINSICS))
            hands.append(len(result.hands))
    finally:
        engine.close()
    assert hands == [1] * 10
    assert [round((ts - 0.5) * 30) for ts in calls] == [0, 5]  # acquire, then re-check after 4 tracked frames


def test_a_left_hand_is_mirrored_into_the_right_hand_model_and_back(tiny_seqhand):
    """The flipped demo image shows a left hand: its result must be the right hand's, mirrored."""
    from engine.stream import EngineOptions, StreamingEngine

    rgb, _ = render_demo_frame(1.25, "rgb")  # at 1.0 s MediaPipe calls the demo's (right) hand left on its own
    results = {}
    for name, image in (("right", rgb), ("left", np.ascontiguousarray(rgb[:, ::-1]))):
        with StreamingEngine(EngineOptions(model="seqhand", model_path=tiny_seqhand)) as engine:
            (hand,) = engine.process(Frame(0, 1.0, rgb=image, intrinsics=DEMO_INTRINSICS)).hands
        results[name] = hand
    right, left = results["right"], results["left"]
    assert (right.handedness, left.handedness) == ("right", "left")
    mirrored_x = (DEMO_INTRINSICS.width - 1) - left.joints_2d[:, 0]
    size = right.box[2] - right.box[0]
    assert np.abs(mirrored_x - right.joints_2d[:, 0]).max() < 0.05 * size
    assert np.abs(left.joints_2d[:, 1] - right.joints_2d[:, 1]).max() < 0.05 * size
    # in 3-D the left hand is the right hand reflected through the camera's y-z plane (x -> -x, about cx)
    np.testing.assert_allclose(left.theta, right.theta, atol=0.05)
    assert (np.sign(left.joints_3d[4, 0] - left.joints_3d[0, 0])
            == -np.sign(right.joints_3d[4, 0] - right.joints_3d[0, 0]))


def test_background_detection_keeps_the_detector_off_the_live_path(tiny_seqhand):
    import threading
    import time

    from engine.stream import EngineOptions, StreamingEngine

    engine = StreamingEngine(EngineOptions(model="seqhand", model_path=tiny_seqhand, background_detection=True,
                                           redetect_every=3, min_tracking_confidence=0.0))
    threads = []
    real_detect = engine._rgb_detector.detect
    engine._rgb_detector.detect = lambda rgb, ts: threads.append(threading.current_thread().name) or \
        real_detect(rgb, ts)
    try:
        hands, waits = [], []
        for i in range(12):
            t = 2.0 + i / 30.0
            rgb, _ = render_demo_frame(t, "rgb")
            result = engine.process(Frame(i, t, rgb=rgb, intrinsics=DEMO_INTRINSICS))
            hands.append(len(result.hands))
            waits.append(result.timings.detect_ms)
            time.sleep(0.05)
    finally:
        engine.close()
    assert threads and set(threads) == {"hand-detector"}
    assert np.median(waits) < 5.0  # the live path does not wait for MediaPipe (~25-30 ms a call)
    assert hands[0] == 0 and hands[-1] == 1  # nothing until the first detection lands, then tracked
    assert not any(t.name == "hand-detector" and t.is_alive() for t in threading.enumerate())
