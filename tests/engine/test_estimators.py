"""Model kinds behind one interface: a new kind is one Estimator subclass and one entry in KINDS.

The toy kind here is shaped like a keypoint lifter: MediaPipe's landmarks on every frame in, the hand
model's full 45-D pose, shape and weak-perspective camera out (the shared ``hand_from_params``), left
hands mirrored, its recurrent state dropped whenever the detector misses the hand. Its ONNX model is
built in the test with ``onnx.helper``; nothing else in the engine knows it.
"""
from __future__ import annotations

import numpy as np
import pytest

from engine.crop import CropBox
from engine.demo import DEMO_INTRINSICS, render_demo_frame
from engine.estimators import KINDS, Estimator
from engine.estimators.hand_params import hand_from_params, load_trained_hand_model
from engine.frames import Frame
from engine.runtime import ModelSession
from engine.stream import EngineOptions, StreamingEngine

K = DEMO_INTRINSICS
POSE, PARAMS = 45, 45 + 10 + 6
MARGIN = 1.1  # the landmark box's side over the hand's extent
STEP = 0.01  # the toy adds this to θ[0] per frame of memory: θ[0] / STEP counts the frames since a fresh state


def build_toy_lifter(path) -> None:
    """keypoints (1, 42) + h, c (1, 1) → params (1, 61), h_out = h + 1, c_out = c.

    params: θ 45 (θ[0] = STEP · h_out), β 0, scale 8 (a hand of 0.2 m fills 80 % of the box), the
    keypoints' mean as the translation, no rotation."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    base = np.zeros((1, PARAMS), np.float32)
    base[0, 55] = 8.0
    count = np.zeros((1, PARAMS), np.float32)
    count[0, 0] = STEP
    mean_xy = np.zeros((42, PARAMS), np.float32)
    mean_xy[0::2, 56] = 1.0 / 21  # u's mean → tx, v's mean → ty
    mean_xy[1::2, 57] = 1.0 / 21
    consts = [numpy_helper.from_array(a, n) for a, n in
              ((base, "base"), (count, "count"), (mean_xy, "mean_xy"), (np.ones((1, 1), np.float32), "one"))]
    nodes = [helper.make_node("Add", ["h", "one"], ["h_out"]),
             helper.make_node("Identity", ["c"], ["c_out"]),
             helper.make_node("Mul", ["h_out", "count"], ["memory"]),
             helper.make_node("MatMul", ["keypoints", "mean_xy"], ["placed"]),
             helper.make_node("Add", ["base", "memory"], ["partial"]),
             helper.make_node("Add", ["partial", "placed"], ["params"])]
    def value(name: str, width: int):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, width])

    graph = helper.make_graph(nodes, "toy_lifter", [value("keypoints", 42), value("h", 1), value("c", 1)],
                              [value("params", PARAMS), value("h_out", 1), value("c_out", 1)], consts)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    for key, val in {"model": "toylift", "state_shape": "[1, 1]", "pose_dims": str(POSE),
                     "hand_model": "handstream_hand_right.pkl"}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, val
    onnx.save(model, str(path))


class ToyLifter(Estimator):
    """MediaPipe landmarks in their box → pose, shape and camera, like the keypoint lifter."""

    kind = "toylift"
    inputs = ("keypoints",)
    outputs = ("params",)
    image = "rgb"
    detectors = ("mediapipe",)
    follows_predictions = False
    estimates_shape = True

    def __init__(self, model, options) -> None:
        super().__init__(model, options)
        self.hand_model = load_trained_hand_model(model.info, options.hand_model_path)

    @classmethod
    def read_info(cls, info, meta, inputs) -> None:
        info.hand_model = meta.get("hand_model", "")
        info.pose_pca = int(meta["pose_dims"])

    @classmethod
    def example_inputs(cls, info):
        return {"keypoints": np.zeros((1, 42), np.float32)}

    def estimate(self, track, detection, context):
        pts = detection.landmarks
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        centre, half = (lo + hi) / 2.0, max(float((hi - lo).max()) / 2.0 * MARGIN, 1.0)
        box = CropBox(float(centre[0]), float(centre[1]), 2.0 * half, mirrored=track.handedness == "left")
        uv = (pts - centre) / half
        if box.mirrored:
            uv[:, 0] = -uv[:, 0]
        outputs, track.state = self.model.step({"keypoints": uv.reshape(1, 42).astype(np.float32)},
                                               track.state or self.model.zero_state())
        return hand_from_params(outputs["params"][0], self.model.info.pose_pca, track, box, True, context,
                                self.hand_model, self.options.vertices, self.options.jump_fraction, scale=MARGIN)

    def missed(self, track) -> None:
        track.state = {}  # landmarks are needed on every frame: a gap means a fresh sequence


@pytest.fixture(scope="module")
def toy_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("toy") / "toy_lifter.onnx"
    build_toy_lifter(path)
    return path


@pytest.fixture
def toy_kind(monkeypatch):
    monkeypatch.setitem(KINDS, "toylift", ToyLifter)


def _demo(i: int) -> Frame:
    rgb, depth = render_demo_frame(i / 30.0, "rgbd")
    return Frame(index=i, timestamp=i / 30.0, rgb=rgb, depth=depth, intrinsics=K)


def _wall(i: int) -> Frame:
    return Frame(index=i, timestamp=i / 30.0, rgb=np.full((K.height, K.width, 3), 90, np.uint8), intrinsics=K)


def test_a_new_kind_runs_through_the_engine_from_its_estimator_alone(toy_kind, toy_model):
    with StreamingEngine(EngineOptions(model="toylift", model_path=toy_model)) as engine:
        assert engine.detector_kind == "mediapipe" and engine.model.info.pose_pca == POSE
        detect = engine._rgb_detector.detect
        calls = []
        engine._rgb_detector.detect = lambda rgb, ts: calls.append(ts) or detect(rgb, ts)
        hands = [engine.process(_demo(i)).hands for i in range(4)]
        assert len(calls) == 4  # a detection on every frame: it never follows its own predictions
        assert [len(h) for h in hands] == [1, 1, 1, 1]
        track_id = hands[0][0].track_id
        for n, (hand,) in enumerate(hands, start=1):
            assert hand.track_id == track_id and hand.theta.shape == (POSE,)
            assert hand.theta[0] == pytest.approx(n * STEP, abs=1e-6)  # the state carries over frames
            assert hand.vertices is not None and np.all(np.isfinite(hand.joints_3d))
            assert np.all(hand.joints_3d[:, 2] > 0)
            x0, y0, x1, y1 = hand.box  # the joints land where the landmarks were
            assert x0 < hand.joints_2d[:, 0].mean() < x1 and y0 < hand.joints_2d[:, 1].mean() < y1
        assert engine.lock_shape().locked  # it estimates shape, so the engine's shape lock applies
        assert engine.process(_wall(4)).hands == []
        back = engine.process(_demo(5)).hands[0]
        assert back.track_id == track_id  # the same hand, back within lost_after frames...
        assert back.theta[0] == pytest.approx(STEP, abs=1e-6)  # ...with the fresh state its estimator asked for


def test_a_kind_refuses_a_detector_it_cannot_crop_from_and_files_of_another_contract(toy_kind, toy_model,
                                                                                        tiny_seqhand):
    with pytest.raises(ValueError, match="toylift cannot crop from the depth detector"):
        StreamingEngine(EngineOptions(model="toylift", model_path=toy_model, detector="depth"))
    with pytest.raises(ValueError, match="not a streaming toylift model: it lacks 'keypoints'"):
        ModelSession(tiny_seqhand, ToyLifter)
    session = ModelSession(toy_model, ToyLifter)
    out, state = session.step(session.example_inputs(), session.zero_state())
    assert out["params"].shape == (1, PARAMS) and state["h"][0, 0] == 1.0


def test_unknown_kinds_are_named_and_the_shipped_ones_keep_their_contract():
    with pytest.raises(ValueError, match=f"--model must be one of {', '.join(KINDS)}, got 'nope'"):
        StreamingEngine(EngineOptions(model="nope"))
    seqhand, cadstn = KINDS["seqhand"], KINDS["cadstn"]
    assert (seqhand.inputs, seqhand.outputs, seqhand.detectors[0]) == (("image",), ("params",), "mediapipe")
    assert (cadstn.inputs, cadstn.outputs, cadstn.detectors[0]) == (("depth",), ("joints",), "depth")
    assert seqhand.follows_predictions and seqhand.estimates_shape
    assert not cadstn.follows_predictions and not cadstn.estimates_shape
