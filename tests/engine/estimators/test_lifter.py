"""The lifter estimator: MediaPipe's landmarks in, a placed hand with a full pose out; left hands are mirrors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from calibration.intrinsics import CameraIntrinsics
from engine.estimators import KINDS, FrameContext
from engine.estimators.lifter import LifterEstimator
from engine.frames import Frame
from engine.options import EngineOptions
from engine.results import StageTimings
from engine.runtime import ModelSession
from engine.stream import StreamingEngine
from engine.tracks import Detection, Track

K = CameraIntrinsics(fx=600.0, fy=600.0, cx=320.0, cy=240.0, width=640, height=480)


@pytest.fixture(scope="module")
def tiny_lifter_onnx(tmp_path_factory) -> Path:
    """An untrained but not trivial lifter (random head) exported as the engine runs it."""
    from models.checkpoint_file import save_payload
    from models.lifter.export import export_onnx
    from models.lifter.network import LifterNet, LifterOptions

    torch.manual_seed(0)
    options = LifterOptions(width=16, hidden=8)
    net = LifterNet(options)
    with torch.no_grad():
        net.head[-1].weight.normal_(0, 0.2)
    folder = tmp_path_factory.mktemp("lifter")
    save_payload(folder / "l.pt", {"net": net.state_dict(), "options": options.__dict__, "step": 0,
                                   "hand_model": "handstream_hand_right.pkl"})
    return export_onnx(folder / "l.pt", folder / "l.onnx")


def _detection(rng: np.random.Generator) -> Detection:
    px = np.array([320.0, 260.0]) + rng.normal(0, 40, (21, 2))
    return Detection(centre=px.mean(0), size=float(np.ptp(px, 0).max()), landmarks=px,
                     landmarks_z=rng.normal(0, 10, 21), world=rng.normal(0, 0.04, (21, 3)), score=0.9)


def _mirror(det: Detection) -> Detection:
    """The same hand seen in a mirror about the camera's principal point."""
    px = det.landmarks * [-1, 1] + [2 * K.cx, 0]
    return Detection(centre=det.centre * [-1, 1] + [2 * K.cx, 0], size=det.size, handedness="left", landmarks=px,
                     landmarks_z=det.landmarks_z, world=det.world * [-1, 1, 1], score=det.score)


def test_lifter_is_a_kind_that_detects_every_frame() -> None:
    assert KINDS["lifter"] is LifterEstimator
    assert not LifterEstimator.follows_predictions and LifterEstimator.estimates_shape


def test_left_hand_is_the_mirror_of_the_right_one(tiny_lifter_onnx: Path) -> None:
    estimator = LifterEstimator(ModelSession(tiny_lifter_onnx, LifterEstimator), EngineOptions(model="lifter"))
    frame = Frame(index=0, timestamp=0.0, rgb=np.zeros((480, 640, 3), np.uint8), intrinsics=K)
    context = FrameContext(frame, K, StageTimings(), lambda track, beta: (beta, 0.0))
    det = _detection(np.random.default_rng(0))
    right = estimator.estimate(Track(1, "right", det.centre, det.size), det, context)
    left = estimator.estimate(Track(2, "left", det.centre, det.size), _mirror(det), context)
    assert right.theta.shape == (45,) and right.vertices is not None and right.vertices.shape[1] == 3
    np.testing.assert_allclose(left.theta, right.theta, atol=1e-6)  # one right-hand model saw both
    np.testing.assert_allclose(left.joints_3d, right.joints_3d * [-1, 1, 1], atol=1e-3)
    np.testing.assert_allclose(left.joints_2d, right.joints_2d * [-1, 1] + [2 * K.cx, 0], atol=1e-3)
    assert context.timings.inference_ms > 0


def test_state_runs_across_frames_and_restarts_for_a_new_track(tiny_lifter_onnx: Path) -> None:
    estimator = LifterEstimator(ModelSession(tiny_lifter_onnx, LifterEstimator), EngineOptions(model="lifter"))
    frame = Frame(index=0, timestamp=0.0, rgb=np.zeros((480, 640, 3), np.uint8), intrinsics=K)
    context = FrameContext(frame, K, StageTimings(), lambda track, beta: (beta, 0.0))
    det = _detection(np.random.default_rng(1))
    track = Track(1, "right", det.centre, det.size)
    first = estimator.estimate(track, det, context).theta
    second = estimator.estimate(track, det, context).theta
    fresh = estimator.estimate(Track(2, "right", det.centre, det.size), det, context).theta
    assert np.abs(second - first).max() > 1e-4  # the LSTM state carried over
    np.testing.assert_allclose(fresh, first, atol=1e-6)
    estimator.missed(track)  # MediaPipe lost the hand: the next frame starts afresh
    np.testing.assert_allclose(estimator.estimate(track, det, context).theta, first, atol=1e-6)
    no_world = Detection(centre=det.centre, size=det.size, landmarks=det.landmarks)
    assert estimator.estimate(track, no_world, context) is None  # a depth detection: nothing to read


def test_engine_runs_the_lifter_on_the_demo(tiny_lifter_onnx: Path) -> None:
    from engine.demo import DEMO_INTRINSICS, render_demo_frame

    with StreamingEngine(EngineOptions(model="lifter", model_path=tiny_lifter_onnx, max_hands=1)) as engine:
        assert engine.detector_kind == "mediapipe"
        results = [engine.process(Frame(index=i, timestamp=i / 30, rgb=render_demo_frame(i / 30, "rgb")[0],
                                        intrinsics=DEMO_INTRINSICS)) for i in range(4)]
    assert all(len(r.hands) == 1 for r in results)
    hand = results[-1].hands[0]
    assert hand.theta.shape == (45,) and hand.camera.shape == (6,)
    assert {r.hands[0].track_id for r in results} == {hand.track_id}
    assert all(r.timings.detect_ms > 0 for r in results)  # MediaPipe ran on every frame
