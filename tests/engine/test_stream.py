"""StreamingEngine: recurrent state per track, resets, identities, shape lock, reproducibility."""
from __future__ import annotations

import numpy as np
import pytest

from engine.demo import DEMO_INTRINSICS, render_demo_frame
from engine.frames import Frame
from engine.stream import EngineOptions, StreamingEngine

K = DEMO_INTRINSICS


@pytest.fixture(scope="module")
def demo_frames():
    """Eight consecutive RGB-D demo frames."""
    frames = []
    for i in range(8):
        rgb, depth = render_demo_frame(i / 30.0, "rgbd")
        frames.append(Frame(index=i, timestamp=i / 30.0, rgb=rgb, depth=depth, intrinsics=K))
    return frames


def _wall_frame(index: int) -> Frame:
    """No hand: only a wall 1.4 m away."""
    depth = np.full((K.height, K.width), 1400, np.uint16)
    rgb = np.full((K.height, K.width, 3), 90, np.uint8)
    return Frame(index=index, timestamp=index / 30.0, rgb=rgb, depth=depth, intrinsics=K)


def _seqhand(model, **kw) -> StreamingEngine:
    return StreamingEngine(EngineOptions(model="seqhand", model_path=model, detector="depth", **kw))


def test_state_is_carried_across_frames_and_reset_clears_it(tiny_seqhand, demo_frames):
    with _seqhand(tiny_seqhand) as carried, _seqhand(tiny_seqhand) as fresh:
        for frame in demo_frames[:4]:
            carried.process(frame)
        after_history = carried.process(demo_frames[4]).hands[0]
        from_scratch = fresh.process(demo_frames[4]).hands[0]
        assert not np.allclose(after_history.theta, from_scratch.theta, atol=1e-6)
        carried.reset()
        again = carried.process(demo_frames[4]).hands[0]
        np.testing.assert_allclose(again.theta, from_scratch.theta, atol=1e-6)


def test_a_hand_lost_for_longer_than_lost_after_starts_a_fresh_track(tiny_seqhand, demo_frames):
    with _seqhand(tiny_seqhand, lost_after=3) as engine, _seqhand(tiny_seqhand) as fresh:
        for frame in demo_frames[:3]:
            first_id = engine.process(frame).hands[0].track_id
        # briefly gone (2 frames <= lost_after): same track, state kept
        for i in range(2):
            assert engine.process(_wall_frame(10 + i)).hands == []
        back = engine.process(demo_frames[3]).hands[0]
        assert back.track_id == first_id
        assert not np.allclose(back.theta, fresh.process(demo_frames[3]).hands[0].theta, atol=1e-6)
        # gone for 4 frames (> lost_after): a new identity with a fresh state
        for i in range(4):
            engine.process(_wall_frame(20 + i))
        fresh.reset()
        new = engine.process(demo_frames[5]).hands[0]
        assert new.track_id != first_id
        np.testing.assert_allclose(new.theta, fresh.process(demo_frames[5]).hands[0].theta, atol=1e-6)


def _two_blobs(index: int, a: tuple[float, float, float], b: tuple[float, float, float]) -> Frame:
    """Depth frame with two hand-sized discs at (u, v, z_mm) a and b, in front of a wall."""
    import cv2

    depth = np.full((K.height, K.width), 1400, np.uint16)
    for u, v, z in sorted([a, b], key=lambda p: -p[2]):
        r = int(K.fx * 60.0 / z)
        cv2.circle(depth, (int(u), int(v)), r, int(z), -1)
    rgb = np.full((K.height, K.width, 3), 90, np.uint8)
    return Frame(index=index, timestamp=index / 30.0, rgb=rgb, depth=depth, intrinsics=K)


def test_two_hands_keep_their_identities_when_their_depth_order_swaps(tiny_cadstn):
    engine = StreamingEngine(EngineOptions(model="cadstn", model_path=tiny_cadstn))
    try:
        ids_by_side: dict[str, set[int]] = {"left": set(), "right": set()}
        for i in range(12):
            za, zb = 500 + 15 * i, 680 - 15 * i  # hand A recedes while B approaches: nearest changes
            result = engine.process(_two_blobs(i, (200 + 3 * i, 240, za), (440 - 3 * i, 250, zb)))
            assert len(result.hands) == 2
            for hand in result.hands:
                side = "left" if hand.joints_2d[:, 0].mean() < 320 or hand.box[0] < 250 else "right"
                ids_by_side[side].add(hand.track_id)
        assert len(ids_by_side["left"]) == 1 and len(ids_by_side["right"]) == 1
        assert ids_by_side["left"] != ids_by_side["right"]
    finally:
        engine.close()


def test_lock_fixes_beta_to_the_recent_mean_and_unlock_releases_it(tiny_seqhand, demo_frames):
    with _seqhand(tiny_seqhand, shape_window=4) as engine:
        with pytest.raises(ValueError, match="no hand is tracked"):
            engine.lock_shape()
        raw = [engine.process(f).hands[0] for f in demo_frames[:5]]
        assert not engine.shape_locked
        assert all(h.beta_change > 0 for h in raw[1:])
        report = engine.lock_shape()
        assert engine.shape_locked and report.change_before > 0
        expected = np.mean([h.beta for h in raw[1:5]], axis=0)  # the last K=4 frames
        locked = [engine.process(f) for f in demo_frames[5:8]]
        for result in locked:
            assert result.shape_locked
            np.testing.assert_allclose(result.hands[0].beta, expected, atol=1e-6)
        assert [r.hands[0].beta_change for r in locked[1:]] == [0.0, 0.0]
        assert engine.shape_report().change_after == 0.0
        engine.unlock_shape()
        released = [engine.process(f).hands[0] for f in demo_frames[:3]]
        assert not np.allclose(released[-1].beta, expected, atol=1e-4)


def test_cadstn_refuses_a_shape_lock_with_a_clear_message(tiny_cadstn, demo_frames):
    with StreamingEngine(EngineOptions(model="cadstn", model_path=tiny_cadstn)) as engine:
        engine.process(demo_frames[0])
        with pytest.raises(ValueError, match="cadstn"):
            engine.lock_shape()


def test_results_are_placed_in_camera_space_consistently(tiny_seqhand, demo_frames):
    with _seqhand(tiny_seqhand) as engine:
        hand = engine.process(demo_frames[0]).hands[0]
    from calibration.projection import project_mm

    # weak perspective is exact at the joints' centroid, whose ray the 3-D hand is placed on...
    centroid_px = project_mm(hand.joints_3d.astype(np.float64).mean(axis=0), K)
    np.testing.assert_allclose(centroid_px, hand.joints_2d.mean(axis=0), atol=0.5)
    # ...and close to perspective elsewhere (within 5% of the crop)
    box_size = hand.box[2] - hand.box[0]
    assert np.abs(project_mm(hand.joints_3d.astype(np.float64), K) - hand.joints_2d).max() < 0.05 * box_size
    assert hand.vertices is not None and hand.vertices.shape[1] == 3
    assert np.all(hand.joints_3d[:, 2] > 0)


def test_missing_or_wrong_model_files_are_one_line_errors(tmp_path, tiny_cadstn):
    with pytest.raises(FileNotFoundError, match="missing"):
        StreamingEngine(EngineOptions(model="cadstn", model_path=tmp_path / "none.onnx"))
    with pytest.raises(ValueError, match="not a streaming seqhand model"):
        StreamingEngine(EngineOptions(model="seqhand", model_path=tiny_cadstn, detector="depth"))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="cannot be loaded") as info:
        StreamingEngine(EngineOptions(model="cadstn", model_path=junk))
    assert "\n" not in str(info.value)


def test_a_model_trained_with_another_hand_model_is_refused(tmp_path, seqhand_builder):
    model = seqhand_builder(tmp_path / "mano_trained.onnx", hand_model="MANO_RIGHT.pkl")
    with pytest.raises(ValueError, match="trained with hand model MANO_RIGHT.pkl, but handstream_hand_right.pkl"):
        StreamingEngine(EngineOptions(model="seqhand", model_path=model, detector="depth"))


def test_two_runs_of_the_same_recording_give_identical_results(tmp_path, tiny_cadstn, record_realsense):
    from engine.sources import open_source

    depth = [render_demo_frame(i / 30.0, "depth")[1] for i in range(10)]
    path = record_realsense(tmp_path / "demo.db3", depth, fx=K.fx, fy=K.fy)

    def run() -> list:
        source = open_source(str(path), realtime=False)
        out = []
        with StreamingEngine(EngineOptions(model="cadstn", model_path=tiny_cadstn)) as engine:
            source.start()
            while not source.finished:
                frame = source.read(timeout=2.0)
                if frame is not None:
                    out.append((frame.index, [h.joints_3d for h in engine.process(frame).hands]))
            source.stop()
        return out

    first, second = run(), run()
    assert len(first) >= 9 and [i for i, _ in first] == [i for i, _ in second]
    for (_, a), (_, b) in zip(first, second):
        assert len(a) == len(b) == 1
        np.testing.assert_array_equal(a[0], b[0])


def test_the_engine_scales_a_calibration_to_resized_frames_and_refuses_another_aspect(tmp_path):
    import json

    path = tmp_path / "cam.json"
    path.write_text(json.dumps({"fx": 600.0, "fy": 600.0, "cx": 319.5, "cy": 239.5, "width": 640, "height": 480}))
    with StreamingEngine(EngineOptions(model="cadstn", calibration=path)) as engine:
        half = engine._intrinsics(Frame(0, 0.0, depth=np.zeros((240, 320), np.uint16)))
        assert (half.fx, half.cx, half.width) == (300.0, 159.5, 320)
        with pytest.raises(ValueError, match="another aspect ratio"):
            engine._intrinsics(Frame(1, 0.0, depth=np.zeros((256, 256), np.uint16)))
