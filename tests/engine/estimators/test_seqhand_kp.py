"""The keypoint-conditioned SeqHAND-Net estimator: crop and heatmaps from MediaPipe's landmarks, mirrored together."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from calibration.intrinsics import CameraIntrinsics
from engine.estimators import KINDS, FrameContext
from engine.estimators.seqhand_kp import KeypointSeqHandEstimator
from engine.frames import Frame
from engine.options import EngineOptions
from engine.results import StageTimings
from engine.runtime import ModelSession
from engine.stream import StreamingEngine
from engine.tracks import Detection, Track


@pytest.fixture(scope="module")
def tiny_kp_onnx(tmp_path_factory) -> Path:
    from models.seqhand.checkpoint import save_checkpoint
    from models.seqhand.config import ModelOptions
    from models.seqhand.export import export_onnx
    from models.seqhand.network import SeqHandNet

    torch.manual_seed(0)
    net = SeqHandNet(ModelOptions(backbone="resnet18", width=8, input_size=64, temporal="convlstm", hidden=8,
                                  keypoint_heatmaps=True, heatmap_sigma=1.5))
    with torch.no_grad():
        net.encoder.conv1.weight[:, 3:].normal_(0, 0.2)  # heatmap filters that matter
        net.head.weight.normal_(0, 0.08 / net.head.in_features ** 0.5)
    folder = tmp_path_factory.mktemp("kp")
    save_checkpoint(folder / "kp.pt", net, hand_model="handstream_hand_right.pkl")
    return export_onnx(folder / "kp.pt", folder / "kp.onnx")


def test_left_hand_crop_and_heatmaps_are_the_mirror_of_the_right_ones(tiny_kp_onnx: Path) -> None:
    from engine.demo import DEMO_INTRINSICS, render_demo_frame

    model = ModelSession(tiny_kp_onnx, KeypointSeqHandEstimator)
    assert model.info.metadata["model"] == "seqhand_kp" and KINDS["seqhand_kp"] is KeypointSeqHandEstimator
    estimator = KeypointSeqHandEstimator(model, EngineOptions(model="seqhand_kp"))
    rgb, _ = render_demo_frame(0.0, "rgb")
    k = DEMO_INTRINSICS
    flipped_k = CameraIntrinsics(fx=k.fx, fy=k.fy, cx=k.width - 1 - k.cx, cy=k.cy, width=k.width, height=k.height)
    pts = np.random.default_rng(0).uniform(250, 350, (21, 2))
    det = Detection(centre=pts.mean(0), size=100.0, landmarks=pts, score=1.0)
    flipped = Detection(centre=pts.mean(0), size=100.0, landmarks=pts * [-1, 1] + [k.width - 1, 0],
                        handedness="left", score=1.0)
    results = []
    for image, d, side, cam in ((rgb, det, "right", k),
                                (np.ascontiguousarray(rgb[:, ::-1]), flipped, "left", flipped_k)):
        context = FrameContext(Frame(0, 0.0, image, None, cam), cam, StageTimings(), lambda t, b: (b, 0.0))
        results.append(estimator.estimate(Track(1, side, d.centre, d.size), d, context))
    right, left = results
    np.testing.assert_allclose(left.theta, right.theta, atol=1e-5)  # the network saw the same crop and maps
    np.testing.assert_allclose(left.joints_2d, right.joints_2d * [-1, 1] + [k.width - 1, 0], atol=1e-3)
    no_landmarks = Detection(centre=det.centre, size=det.size)
    assert estimator.estimate(Track(2, "right", det.centre, det.size), no_landmarks, context) is None


def test_engine_runs_it_with_mediapipe_on_every_frame(tiny_kp_onnx: Path) -> None:
    from engine.demo import DEMO_INTRINSICS, render_demo_frame

    with StreamingEngine(EngineOptions(model="seqhand_kp", model_path=tiny_kp_onnx, max_hands=1)) as engine:
        assert engine.detector_kind == "mediapipe"
        results = [engine.process(Frame(i, i / 30, render_demo_frame(i / 30, "rgb")[0], None, DEMO_INTRINSICS))
                   for i in range(3)]
    assert all(len(r.hands) == 1 and r.timings.detect_ms > 0 for r in results)
    assert results[-1].hands[0].theta.shape == (10,)
