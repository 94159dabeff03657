"""CADSTN scored behind the engine's own cropping (engine.evaluate_live): the same crops and steps as live."""
from __future__ import annotations

import numpy as np
import pytest

from engine.estimators import KINDS
from engine.estimators.cadstn import CadstnEstimator
from engine.evaluate_live import evaluate_live
from engine.options import EngineOptions
from engine.runtime import ModelSession
from models.cadstn.data import synth_sequences
from models.cadstn.evaluate import CropsOffHand, EvalOptions
from models.finger_states import extended_read_extended, states_agree

OPTIONS = EvalOptions(seed=5, sequences=2, frames=3, threads=1)


def test_live_figures_come_from_the_engines_cadstn_step(tiny_cadstn):
    from calibration.projection import pixel_to_camera_mm
    from engine.detect_depth import DepthHandDetector
    from models.metrics import pose_report

    result = evaluate_live(tiny_cadstn, OPTIONS, centring="com", recentre=1)
    # the same frames through the estimator the StreamingEngine runs, by hand
    session = ModelSession(tiny_cadstn, KINDS["cadstn"])
    estimator = CadstnEstimator(session, EngineOptions(model="cadstn", depth_recentre=1))
    preds, gts, centres = [], [], []
    detector = DepthHandDetector(1)
    for seq in synth_sequences(5, 2, 3, 250.0, 128, full_frame=True):
        state = session.zero_state()
        for depth, truth in zip(seq.depth, seq.joints_mm):
            (found,) = detector.detect(depth, seq.intrinsics.fx, seq.intrinsics.fy)
            centre = pixel_to_camera_mm(found.centre_uvz, seq.intrinsics)
            step = estimator.step(depth, centre, seq.intrinsics, state)
            state = step.state
            preds.append(step.joints_mm)
            gts.append(truth)
            centres.append(step.crop.centre_mm)
    expected = pose_report(np.stack(preds), np.stack(gts))
    assert result.reports["fused"].frames == 6
    assert result.reports["fused"].mean_error == pytest.approx(expected.mean_error, abs=1e-9)
    assert result.finger_states["fused"] == states_agree(np.stack(preds), np.stack(gts))
    shares = extended_read_extended(np.stack(preds), np.stack(gts))
    assert result.extended_read["fused"] == pytest.approx(shares, nan_ok=True)
    assert "extended read extended thumb" in result.summary()
    assert result.crops_off_hand == CropsOffHand.measure(np.stack(centres), np.stack(preds), np.stack(gts))
    tracked = evaluate_live(tiny_cadstn, OPTIONS, centring="track", recentre=1)
    assert tracked.reports["fused"].mean_error != pytest.approx(expected.mean_error, abs=1e-6)
    with pytest.raises(ValueError, match="centring must be one of com, track"):
        evaluate_live(tiny_cadstn, OPTIONS, centring="truth")


def test_frames_where_the_detector_finds_no_hand_are_counted_not_hidden(tiny_cadstn, monkeypatch):
    """With the detector centring every crop, a frame without a hand found has no crop and no error: the figures
    must say how many were left out, or a detector that gives up on hard frames would look better."""
    from engine.detect_depth import DepthHandDetector

    detect = DepthHandDetector.detect
    calls = []

    def every_other(self, depth, fx, fy):
        calls.append(1)
        return detect(self, depth, fx, fy) if len(calls) % 2 else []

    monkeypatch.setattr(DepthHandDetector, "detect", every_other)
    result = evaluate_live(tiny_cadstn, OPTIONS, centring="com", recentre=0)
    assert len(calls) == 6 and result.reports["fused"].frames == 3
    assert result.crops_off_hand.uncut == pytest.approx(0.5)
    assert "in 50.0 % of the held-out frames" in result.summary()


def test_a_track_that_slid_off_the_hand_is_lost_and_one_on_it_is_not():
    """`track` centring follows its own predictions; they are re-detected when the depth detector's hand lies more
    than half a cube from them (a track started on a table or a body never found the hand again by itself)."""
    from calibration.projection import pixel_to_camera_mm
    from engine.detect_depth import DepthHandDetector
    from engine.evaluate_live import lost

    seq = next(synth_sequences(5, 1, 1, 250.0, 128, full_frame=True))
    (found,) = DepthHandDetector(1).detect(seq.depth[0], seq.intrinsics.fx, seq.intrinsics.fy)
    detected = pixel_to_camera_mm(found.centre_uvz, seq.intrinsics)
    truth = seq.joints_mm[0]
    assert not lost(truth, detected, 250.0)  # on the hand: the detector's centre of mass lies within ~30 mm
    assert lost(truth + np.array([0.0, 200.0, 0.0]), detected, 250.0)  # slid 20 cm down the arm
    assert not lost(truth + np.array([0.0, 200.0, 0.0]), None, 250.0)  # no hand found: nothing to start again at


def test_an_rgbd_crop_is_centred_at_mediapipes_hand_as_the_engine_centres_it(tiny_cadstn):
    from calibration.intrinsics import CameraIntrinsics
    from calibration.projection import pixel_to_camera_mm
    from engine.evaluate_live import landmark_centre_mm

    camera = CameraIntrinsics(fx=600.0, fy=600.0, cx=320.0, cy=240.0, width=640, height=480)
    depth = np.full((480, 640), 1200.0)  # a wall behind
    depth[200:300, 400:470] = 500.0  # the hand
    landmarks = np.stack(np.meshgrid(np.linspace(405, 465, 7), np.linspace(205, 295, 3)), -1).reshape(21, 2)
    estimator = CadstnEstimator(ModelSession(tiny_cadstn, KINDS["cadstn"]), EngineOptions(model="cadstn"))
    centre = landmark_centre_mm(estimator, depth, landmarks, camera)
    np.testing.assert_allclose(centre, pixel_to_camera_mm(np.array([435.0, 250.0, 500.0]), camera))
    depth[:] = 0.0  # no reading under the landmarks: no crop there
    assert landmark_centre_mm(estimator, depth, landmarks, camera) is None


def test_the_rgbd_renders_without_keypoints_are_the_frames_mediapipe_reads_with_no_landmarks(tiny_cadstn):
    """`--rgbd-renders`: the depth-only path on the frames `--keypoints mediapipe` scores, so the two figures
    show what the colour adds."""
    from dataclasses import replace

    from engine.evaluate_live import _sequences

    options = EvalOptions(seed=3, sequences=1, frames=3, threads=1)  # MediaPipe finds this render's hand
    ((depth_mp, joints_mp, _, seen, known_mp),) = _sequences(replace(options, keypoints="mediapipe"), None, True)
    ((depth, joints, _, none, known),) = _sequences(replace(options, rgbd_renders=True), None, True)
    np.testing.assert_array_equal(depth, depth_mp)
    np.testing.assert_array_equal(joints, joints_mp)
    assert known is None and known_mp is None
    assert any(s is not None for s in seen) and all(s is None for s in none)
    with pytest.raises(ValueError, match="not simulated ones"):
        evaluate_live(tiny_cadstn, replace(options, rgbd_renders=True, keypoints="simulated"))
    with pytest.raises(ValueError, match="full frames, not crop renders"):
        evaluate_live(tiny_cadstn, replace(options, rgbd_renders=True), full_frame=False)
