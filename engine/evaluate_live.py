"""CADSTN scored as the live engine runs it: synthetic depth frames (full frames, or crop renders of every
orientation), cropped, turned and stepped by the engine's own CADSTN estimator (``engine.estimators.cadstn``)
and depth detector, not by copies of them.

Why: held-out figures on crops centred on the true hand (``models.cadstn.evaluate``) say what the
network can do; these say what it does behind the engine's cropping, where the crop centre comes
from the depth alone and each crop's turn from the previous frame. ``handstream eval --model cadstn
--live com|track [--crops] [--keypoints simulated|mediapipe]`` prints them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.detect_depth import DepthDetectorOptions, DepthHandDetector
from engine.estimators.cadstn import CadstnEstimator
from engine.options import EngineOptions
from engine.runtime import ModelSession
from models.cadstn.data import synth_sequences
from models.cadstn.evaluate import CropsOffHand, EvalOptions, EvalResult
from models.finger_states import extended_read_extended, states_agree
from models.lifter.data import detector_points_2d
from models.metrics import acceleration_error, pose_report

CENTRINGS = ("com", "track")


TURN_OVER_DEG = 90.0  # an upright crop's turn changing by more than this between frames shows the hand flipped


def evaluate_live(model: Path, options: EvalOptions | None = None, centring: str = "track",
                  recentre: int = 0, full_frame: bool = True, placer: bool = True) -> EvalResult:
    """An ONNX model on synthetic sequences, cropped as the live engine must: around the engine's depth
    detector's hand centre (`com`), or around the previous frame's predicted joints (`track`, the detector's
    centre on the first frame), then re-cut `recentre` times around the joints found (the engine's `depth_recentre`).
    Shows what detector centring costs against crops centred on the true hand. A track whose predictions lie more than
    half a cube from the detector's hand has lost it and starts again there (`lost`). `full_frame`: 640×480
    frames with arm and wall (hands turned ≤ 45°); else crop renders of every orientation (as training),
    the first (with `com` every) crop around the cube the render was made for.
    `options.keypoints` gives an RGB-D model landmarks on every frame: `simulated` (the lifter's detector-error
    model on the true joints, `models.lifter.data`) or `mediapipe` (MediaPipe itself on the colour of RGB-D
    full-frame renders, `models.lifter.detector_data`; frames where it finds no hand get none); where it found
    the hand, the crop is centred as the engine centres it (`landmark_centre_mm`), elsewhere by the depth detector.
    `placer`: the model's placer, if it has one, moves the crops the detector (or a crop render's cube) placed, as
    the engine does; a crop around the previous frame's joints (`track`) is not the detector's and keeps its place.
    `options.rgbd_renders` without keypoints runs the depth-only path on those same renders (what colour adds).
    Upright crops are turned as the engine turns them; the result counts how often that turn flips, and how often
    the crop lay off the hand (`CropsOffHand`)."""
    from calibration.projection import pixel_to_camera_mm, project_mm

    options = options or EvalOptions()
    if centring not in CENTRINGS:
        raise ValueError(f"centring must be one of {', '.join(CENTRINGS)}, got {centring!r}")
    if options.rgbd_renders and options.keypoints == "simulated":
        raise ValueError("the RGB-D renders are read with MediaPipe's keypoints or none, not simulated ones")
    session = ModelSession(Path(model), CadstnEstimator, threads=options.threads)
    estimator = CadstnEstimator(session, EngineOptions(model="cadstn", model_path=Path(model), depth_recentre=recentre,
                                                       depth_placer=placer, threads=options.threads))
    info = session.info
    if options.keypoints != "none" and "heatmaps" not in info.input_names:
        raise ValueError(f"{Path(model).name} takes no keypoints (not an RGB-D CADSTN model)")
    if options.reads_rgbd_renders and not full_frame:
        raise ValueError("MediaPipe's keypoints and the RGB-D renders are full frames, not crop renders")
    detector = DepthHandDetector(1, DepthDetectorOptions(cube_mm=info.cube_mm))  # the engine's, for one hand
    preds, gts, bounds, turns, centres, held_out = [], [], [], [], [], 0
    for depth, joints_mm, cameras, seen, known in _sequences(options, info, full_frame):
        held_out += len(depth)
        state = session.zero_state()
        previous, angle = None, None
        start = len(preds)
        for f, (frame, truth, camera) in enumerate(zip(depth, joints_mm, cameras)):
            if options.keypoints == "mediapipe" and seen[f] is not None:  # as the engine places an RGB-D crop
                detected = landmark_centre_mm(estimator, frame, seen[f], camera)
            else:
                found = detector.detect(frame, camera.fx, camera.fy) if known is None else []
                detected = pixel_to_camera_mm(found[0].centre_uvz, camera) if found else None
            if centring == "track" and previous is not None and lost(previous, detected, info.cube_mm):
                previous, angle, state = None, None, session.zero_state()  # re-detected: a fresh start there
            if centring == "track" and previous is not None:
                centre = previous.mean(axis=0)
            elif known is not None:  # a crop render: its cube's centre (a 64² image is no frame to detect in)
                centre = known[f]
            elif detected is None:
                continue
            else:
                centre = detected
            previous_px = project_mm(previous, camera) if previous is not None else None
            step = estimator.step(frame, centre, camera, state, landmarks=seen[f], previous_px=previous_px,
                                  placed=centring == "com" or previous is None)
            if angle is not None:
                turn = abs((step.crop.angle - angle + np.pi) % (2 * np.pi) - np.pi)
                turns.append(np.degrees(turn) > TURN_OVER_DEG)
            state, previous, angle = step.state, step.joints_mm, step.crop.angle
            preds.append(previous)
            gts.append(truth)
            centres.append(step.crop.centre_mm)
        bounds.append((start, len(preds)))
    if not preds:
        raise ValueError("the depth detector found no hand in any held-out frame: nothing to score")
    pred, gt = np.stack(preds), np.stack(gts)
    accel = [acceleration_error(pred[s:e], gt[s:e]) for s, e in bounds if e - s >= 3]
    return EvalResult(reports={"fused": pose_report(pred, gt)}, acceleration_mm={"fused": float(np.mean(accel))},
                      axis_turnovers=float(np.mean(turns)) if info.upright and turns else None,
                      finger_states={"fused": states_agree(pred, gt)} if gt.shape[1] == 21 else {},
                      extended_read={"fused": extended_read_extended(pred, gt)} if gt.shape[1] == 21 else {},
                      crops_off_hand=CropsOffHand.measure(np.stack(centres), pred, gt, held_out))


def landmark_centre_mm(estimator: CadstnEstimator, depth: np.ndarray, landmarks: np.ndarray,
                       camera) -> np.ndarray | None:
    """Where the engine centres an RGB-D frame's crop (camera mm): MediaPipe's box centre at the median depth
    under its landmarks (21, 2) px (`CadstnEstimator.place`); None without depth under them."""
    from calibration.projection import pixel_to_camera_mm
    from engine.frames import Frame
    from engine.tracks import Detection

    lo, hi = landmarks.min(axis=0), landmarks.max(axis=0)
    found = Detection(centre=(lo + hi) / 2.0, size=float((hi - lo).max()), landmarks=landmarks)
    if not estimator.place([found], "mediapipe", Frame(0, 0.0, None, depth, camera)):
        return None
    return pixel_to_camera_mm(found.centre_uvz, camera)


def lost(previous: np.ndarray, detected: np.ndarray | None, cube_mm: float) -> bool:
    """Whether a track that follows its own predictions (joints (K, 3) mm) has lost the hand: the depth detector's
    hand (camera mm; None: none found) lies more than half a cube from them, so the crop around them cannot hold it.
    Why: a track started on a table or a body, or one that slid off a hand moving fast, never finds the hand again by
    itself (full realistic frames, seed 2000, 40 × 24 frames: 44.7 mm without this, 31.1 mm with it)."""
    return detected is not None and float(np.linalg.norm(previous.mean(axis=0) - detected)) > cube_mm / 2.0


def _sequences(options: EvalOptions, info, full_frame: bool):
    """The held-out sequences: depth frames, true joints (camera mm), one camera per frame, per frame the
    landmarks (21, 2) px an RGB-D model reads (None where there are none), and for crop renders the centres
    their cubes were rendered around (the joints' centroid; None for full frames)."""
    from calibration.projection import project_mm

    if options.reads_rgbd_renders:
        from models.lifter.detector_data import detect_sequence, render_sequences

        for seq in render_sequences(options.seed, options.sequences, options.frames):
            landmarks = [None] * len(seq.depth)
            if options.keypoints == "mediapipe":
                found = detect_sequence(seq)
                landmarks = [found["landmarks"][f] if found["found"][f] else None for f in range(len(seq.depth))]
            camera = seq.truth.intrinsics
            yield seq.depth, seq.truth.joints_3d.astype(np.float64), [camera] * len(seq.depth), landmarks, None
        return
    rng = np.random.default_rng([options.seed, 7])
    for seq in synth_sequences(options.seed, options.sequences, options.frames, info.cube_mm, info.crop_size,
                               full_frame=full_frame, max_tilt_deg=options.max_tilt_deg, sensor=options.sensor):
        cameras = seq.intrinsics if isinstance(seq.intrinsics, list) else [seq.intrinsics] * len(seq.depth)
        landmarks = [None] * len(seq.depth)
        if options.keypoints == "simulated":  # the detector's view of the true joints, in each frame's pixels
            true_px = np.stack([project_mm(j, k) for j, k in zip(seq.joints_mm, cameras)])
            landmarks = list(detector_points_2d(rng, true_px[None])[0])
        yield seq.depth, seq.joints_mm, cameras, landmarks, seq.centres_mm
