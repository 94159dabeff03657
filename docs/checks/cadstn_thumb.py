"""Does CADSTN read an open hand's straight thumb as extended? (renders only; the real frames are not touched)

    python docs/checks/cadstn_thumb.py [--model-path weights/cadstn_compact.onnx]

Why: on the real SR305 frames the network of run 6 read a thumb held beside the index finger as bent
(weights/cadstn_compact.onnx.md). An open hand is rendered in whole 640×480 frames with the training renderer's
defaults (arm, sleeve, body or table, a sensor model; generator seed 11), palm to the camera and back to it, rolled
−60…+60° in the image plane, 450–650 mm away, with the thumb at rest, straight beside the index finger (CMC flexed
20°) or spread (abducted 35°); only the thumb's CMC changes, and the finger-state rule calls the true thumb
extended in every frame. Each 24-frame sweep goes through the engine's depth detector and CADSTN estimator, as
`engine.evaluate_live` runs them; printed: in how many frames the thumb, and all five fingers, are read extended,
and the thumb's mean bend as read (the rule's measure).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

FRAMES = 24
THUMBS = {"at rest": (0.0, 0.0), "beside the index finger": (20.0, 0.0), "spread": (0.0, 35.0)}  # CMC flex, abd


def sweep(side: str, flex_deg: float, abd_deg: float, seed: int = 11):
    """The depth frames and true joints (mm) of one sweep: an open hand turned `side` (palm or back) to the camera."""
    from scipy.spatial.transform import Rotation

    from models.hand.skeleton import FINGER_JOINTS
    from models.pose_prior import angles_to_pose
    from models.synth.render_depth import WHOLE_ARM_MM, DepthOptions
    from models.synth.sequence import FACING_CAMERA, SequenceGenerator, SequenceOptions

    flex, abd = np.zeros((1, 16)), np.zeros((1, 16))
    cmc = FINGER_JOINTS["thumb"][0]
    flex[0, cmc], abd[0, cmc] = np.radians(flex_deg), np.radians(abd_deg)
    theta = np.repeat(angles_to_pose(flex, abd), FRAMES, axis=0)
    facing = FACING_CAMERA if side == "back" else Rotation.from_euler("y", 180, degrees=True) * FACING_CAMERA
    rolls = np.linspace(-60.0, 60.0, FRAMES)
    rotvecs = np.stack([(Rotation.from_euler("z", r, degrees=True) * facing).as_rotvec() for r in rolls])
    centres = np.stack([np.zeros(FRAMES), np.zeros(FRAMES), np.linspace(450.0, 650.0, FRAMES)], axis=1)
    options = SequenceOptions(kind="depth", depth=DepthOptions(full_frame=True, forearm_mm=WHOLE_ARM_MM,
                                                               static_background=True))
    seq = SequenceGenerator(options, seed=seed).render_motion(theta, np.zeros((FRAMES, 10)), rotvecs, centres)
    return seq.depth, seq.truth.joints_3d, seq.truth.intrinsics


def read(model: Path, depth: np.ndarray, intrinsics) -> list[np.ndarray | None]:
    """Joints (21, 3) mm per frame as the engine reads a depth-only stream (None where no hand was found)."""
    from calibration.projection import pixel_to_camera_mm, project_mm
    from engine.detect_depth import DepthDetectorOptions, DepthHandDetector
    from engine.estimators.cadstn import CadstnEstimator
    from engine.options import EngineOptions
    from engine.runtime import ModelSession

    session = ModelSession(model, CadstnEstimator, threads=1)
    estimator = CadstnEstimator(session, EngineOptions(model="cadstn", model_path=model, threads=1))
    detector = DepthHandDetector(1, DepthDetectorOptions(cube_mm=session.info.cube_mm))
    state, previous, out = session.zero_state(), None, []
    for frame in depth:
        found = detector.detect(frame, intrinsics.fx, intrinsics.fy)
        if not found:
            out.append(None)
            continue
        centre = pixel_to_camera_mm(found[0].centre_uvz, intrinsics)
        previous_px = project_mm(previous, intrinsics) if previous is not None else None
        step = estimator.step(frame, centre, intrinsics, state, previous_px=previous_px)
        state, previous = step.state, step.joints_mm
        out.append(previous)
    return out


def main() -> None:
    from models.finger_states import THUMB_LIMIT_DEG, finger_states, thumb_bend_deg

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-path", type=Path, default=Path("weights/cadstn_compact.onnx"))
    model = parser.parse_args().model_path
    print(f"{model}: of {FRAMES} frames per sweep, those read with the thumb extended / all five fingers extended;"
          f" the thumb's mean bend as read (the rule's limit: {THUMB_LIMIT_DEG:g}°)")
    for name, (flex, abd) in THUMBS.items():
        cells = []
        for side in ("palm", "back"):
            depth, truth, intrinsics = sweep(side, flex, abd)
            assert all(finger_states(j).thumb for j in truth)
            read_joints = [j for j in read(model, depth, intrinsics) if j is not None]
            found = [finger_states(j) for j in read_joints]
            lost = f", {FRAMES - len(found)} without a hand" if len(found) < FRAMES else ""
            bend = np.mean([thumb_bend_deg(j) for j in read_joints])
            cells.append(f"{sum(s.thumb for s in found):>2} / {sum(all(s.as_tuple()) for s in found):>2}, "
                         f"{bend:4.1f}°{lost}")
        print(f"  thumb {name:<24} (bent {thumb_bend_deg(truth[0]):.0f}°)  palm to the camera {cells[0]:<14}"
              f"  back to it {cells[1]}")


if __name__ == "__main__":
    main()
