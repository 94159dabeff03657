"""CADSTN live: the crop is turned by the colour detector's landmarks or the previous joints, and an RGB-D
model reads those landmarks as heatmaps (real ONNX Runtime sessions of an exported RGB-D model)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from calibration.intrinsics import CameraIntrinsics
from calibration.projection import pixel_to_camera_mm, project_mm
from engine.estimators.cadstn import CadstnEstimator, pull_to_landmarks
from engine.evaluate_live import evaluate_live
from engine.options import EngineOptions
from engine.runtime import ModelSession
from models import depth_crop
from models.cadstn.evaluate import EvalOptions
from tests.engine.conftest import build_placer_finding

CAM = CameraIntrinsics(fx=475.0, fy=475.0, cx=160.0, cy=120.0, width=320, height=240)


@pytest.fixture(scope="module")
def rgbd_model(tmp_path_factory):
    from models.cadstn.checkpoint import save_checkpoint
    from models.cadstn.export import export_onnx
    from models.cadstn.fusion import Cadstn
    from tests.models.cadstn.conftest import tiny_config

    torch.manual_seed(2)
    torch.set_num_threads(1)
    config = tiny_config(keypoints=True, upright=True, gate="shared", crop_size=64)
    config.data.axis = "joints"  # trained on crops turned by the joints' axis: the engine turns them alike
    folder = tmp_path_factory.mktemp("rgbd")
    save_checkpoint(folder / "fusion.pt", {"config": config.to_dict(), "model": Cadstn(config.model).state_dict(),
                                           "steps": {"fusion": 0}})
    return export_onnx(folder / "fusion.pt", folder / "rgbd.onnx")


def _estimator(path, recentre=0, **options):
    session = ModelSession(path, CadstnEstimator, threads=1)
    return session, CadstnEstimator(session, EngineOptions(model="cadstn", model_path=path, depth_recentre=recentre,
                                                           threads=1, **options))


def _frame():
    depth = np.full((240, 320), 900, np.uint16)
    depth[90:150, 140:180] = 600
    return depth, pixel_to_camera_mm(np.array([160.0, 120.0, 620.0]), CAM)


def test_landmarks_turn_the_crop_and_reach_the_network(rgbd_model):
    session, estimator = _estimator(rgbd_model)
    depth, centre = _frame()
    landmarks = np.tile([[160.0, 140.0]], (21, 1))
    landmarks[9] = (190.0, 140.0)  # the middle knuckle to the right of the wrist
    seen = estimator.step(depth, centre, CAM, session.zero_state(), landmarks=landmarks)
    assert seen.crop.angle == pytest.approx(depth_crop.joint_axis_angle(landmarks)) == pytest.approx(np.pi / 2)
    blind = estimator.step(depth, centre, CAM, session.zero_state(), previous_px=landmarks)
    assert blind.crop.angle == pytest.approx(seen.crop.angle)  # the previous joints turn a depth-only crop alike
    assert not np.allclose(seen.joints_mm, blind.joints_mm, atol=1e-4)  # ...but without heatmaps
    # nothing known: the crop's own principal axis (the blob is taller than wide: up or down)
    first = estimator.step(depth, centre, CAM, session.zero_state())
    assert np.degrees(first.crop.angle) % 180 == pytest.approx(0.0, abs=5.0)


def test_pull_to_landmarks_moves_each_joint_in_the_image_and_keeps_its_depth():
    rng = np.random.default_rng(0)
    joints = pixel_to_camera_mm(np.c_[rng.uniform(100, 220, (21, 2)), rng.uniform(550, 650, 21)], CAM)
    landmarks = project_mm(joints, CAM) + rng.normal(0.0, 6.0, (21, 2))
    np.testing.assert_allclose(pull_to_landmarks(joints, landmarks, CAM, 0.0), joints)
    onto = pull_to_landmarks(joints, landmarks, CAM, 1.0)
    np.testing.assert_allclose(project_mm(onto, CAM), landmarks, atol=1e-9)
    np.testing.assert_allclose(onto[:, 2], joints[:, 2])
    quarter = project_mm(pull_to_landmarks(joints, landmarks, CAM, 0.25), CAM)
    np.testing.assert_allclose(quarter, 0.75 * project_mm(joints, CAM) + 0.25 * landmarks, atol=1e-9)
    lost = landmarks.copy()
    lost[3] = np.nan  # a landmark that is not there moves nothing
    np.testing.assert_allclose(pull_to_landmarks(joints, lost, CAM, 0.25), joints)


def test_an_rgbd_model_pulls_its_joints_towards_the_landmarks_and_a_depth_only_one_does_not(rgbd_model, tiny_cadstn):
    depth, centre = _frame()
    landmarks = np.tile([[160.0, 140.0]], (21, 1))
    landmarks[9] = (190.0, 140.0)
    steps = {}
    for pull in (0.0, 0.25):
        session, estimator = _estimator(rgbd_model, landmark_pull=pull)
        steps[pull] = estimator.step(depth, centre, CAM, session.zero_state(), landmarks=landmarks)
    plain, pulled = project_mm(steps[0.0].joints_mm, CAM), project_mm(steps[0.25].joints_mm, CAM)
    np.testing.assert_allclose(pulled, 0.75 * plain + 0.25 * landmarks, atol=1e-6)
    np.testing.assert_allclose(steps[0.25].joints_mm[:, 2], steps[0.0].joints_mm[:, 2])
    for pull in (0.0, 0.25):  # a depth-only model's joints are its own, colour or not
        session, estimator = _estimator(tiny_cadstn, landmark_pull=pull)
        steps[pull] = estimator.step(depth, centre, CAM, session.zero_state(), landmarks=landmarks)
    np.testing.assert_allclose(steps[0.25].joints_mm, steps[0.0].joints_mm)


def test_a_model_trained_on_crops_turned_by_their_own_axis_keeps_them(tiny_cadstn, tmp_path):
    import onnx

    from models.onnx_session import write_metadata

    graph = onnx.load(str(tiny_cadstn))
    path = tmp_path / "upright.onnx"
    onnx.save(graph, str(path))
    write_metadata(path, {**{p.key: p.value for p in graph.metadata_props}, "upright": "true"})  # no "axis"
    session, estimator = _estimator(path)
    depth, centre = _frame()
    landmarks = np.tile([[160.0, 140.0]], (21, 1))
    landmarks[9] = (190.0, 140.0)
    step = estimator.step(depth, centre, CAM, session.zero_state(), previous_px=landmarks)
    assert np.degrees(step.crop.angle) % 180 == pytest.approx(0.0, abs=5.0)  # not the joints' 90°


def test_live_evaluation_counts_axis_turnovers_and_checks_its_keypoints(rgbd_model, tiny_cadstn):
    options = EvalOptions(seed=3, sequences=2, frames=4, threads=1, keypoints="simulated")
    result = evaluate_live(rgbd_model, options, full_frame=False)
    assert result.reports["fused"].frames == 8 and 0.0 <= result.axis_turnovers <= 1.0
    with pytest.raises(ValueError, match="takes no keypoints"):
        evaluate_live(tiny_cadstn, options)
    with pytest.raises(ValueError, match="full frames, not crop renders"):
        evaluate_live(rgbd_model, EvalOptions(keypoints="mediapipe"), full_frame=False)


def test_an_rgbd_model_reads_mediapipe_on_colour_frames_and_the_depth_alone_without(rgbd_model, tiny_cadstn):
    from engine.demo import DEMO_INTRINSICS, render_demo_frame
    from engine.frames import Frame
    from engine.stream import StreamingEngine

    rgb, depth = render_demo_frame(0.5, "rgbd")
    with StreamingEngine(EngineOptions(model="cadstn", model_path=rgbd_model, threads=1)) as engine:
        assert engine.detector_kind == "mediapipe"  # chosen by the model, with the depth detector beside it
        (coloured,) = engine.process(Frame(0, 0.0, rgb=rgb, depth=depth, intrinsics=DEMO_INTRINSICS)).hands
        (bare,) = engine.process(Frame(1, 1.0, rgb=None, depth=depth, intrinsics=DEMO_INTRINSICS)).hands
    assert not np.allclose(coloured.joints_3d, bare.joints_3d, atol=1e-3)  # landmarks placed and fed one
    with StreamingEngine(EngineOptions(model="cadstn", model_path=tiny_cadstn, threads=1)) as engine:
        assert engine.detector_kind == "depth"  # a depth-only model keeps the depth detector


def _with_placer(rgbd_model, folder, offset_mm: float, **placer):
    """A copy of `rgbd_model` in `folder` with the placer of `_placer_finding` beside it."""
    import shutil

    folder.mkdir()
    shutil.copy(rgbd_model, folder / "m.onnx")
    build_placer_finding(folder / "m_placer.onnx", offset_mm, **placer)
    return folder / "m.onnx"


def test_the_placer_moves_a_crop_the_detector_cut_only_when_it_finds_the_hand_far_off(rgbd_model, tmp_path):
    depth, centre = _frame()
    turn = np.tile([[160.0, 140.0]], (21, 1))
    turn[9] = (160.0, 110.0)  # the hand upright

    def run(path, **how):
        session, estimator = _estimator(path)
        return estimator.step(depth, centre, CAM, session.zero_state(), **{"previous_px": turn, **how})

    plain = run(rgbd_model)
    far = _with_placer(rgbd_model, tmp_path / "far", 75.0)
    moved = run(far)
    assert np.linalg.norm(moved.crop.centre_mm - centre) == pytest.approx(75.0)  # no re-cut after it: recentre 0
    assert moved.crop.centre_mm[2] == pytest.approx(centre[2])
    near = _with_placer(rgbd_model, tmp_path / "near", 35.0)
    for kept in (run(far, placed=False),  # a crop around the previous frame's joints
                 run(far, landmarks=turn, previous_px=None),  # a crop MediaPipe's landmarks placed
                 run(near)):  # the hand within PLACER_MOVE_MM of the centre
        np.testing.assert_allclose(kept.crop.centre_mm, centre)
    np.testing.assert_array_equal(run(near).joints_mm, plain.joints_mm)  # nothing moved: CADSTN's answer exactly
    session = ModelSession(far, CadstnEstimator, threads=1)
    assert CadstnEstimator(session, EngineOptions(model="cadstn", model_path=far, threads=1)).placer is not None
    assert CadstnEstimator(session, EngineOptions(model="cadstn", model_path=far, depth_placer=False,
                                                  threads=1)).placer is None


def test_a_placer_made_for_other_crops_is_a_one_line_error(rgbd_model, tmp_path):
    for k, made in enumerate(({"crop_size": 32}, {"axis": "crop"})):
        with pytest.raises(ValueError, match=r"placer .*m_placer\.onnx was made for other crops than m\.onnx reads"):
            _estimator(_with_placer(rgbd_model, tmp_path / str(k), 75.0, **made))
