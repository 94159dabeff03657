"""Hand-model parameters → a placed hand: shared by the kinds that predict pose, shape and a camera.

Why one copy: SeqHAND-Net (10 pose PCA values) and keypoint models with a full 45-D pose give the
same kind of answer per crop — pose, shape β (10), a weak-perspective camera (scale, 2-D
translation, 3-D rotation) — and turn it into joints, a mesh and a camera-space placement the same
way, including the mirror of left hands and how the track follows its own prediction.
"""
from __future__ import annotations

import math

import numpy as np

from calibration.weak_perspective import weak_perspective_to_camera
from engine.crop import CROP_SCALE, CropBox, crop_to_image, square_box
from engine.estimators.base import Estimator, FrameContext
from engine.options import EngineOptions
from engine.results import HandResult
from engine.runtime import ModelInfo, ModelSession
from engine.tracks import Track

BETA_SIZE = 10
CAMERA_SIZE = 6  # s, tx, ty, rx, ry, rz
_MIRROR_X = np.array([-1.0, 1.0, 1.0])


class HandModelEstimator(Estimator):
    """The kinds whose network predicts the hand model's parameters: they load the hand model it was trained
    with, and their results carry β, so the shape lock applies."""

    estimates_shape = True

    def __init__(self, model: ModelSession, options: EngineOptions) -> None:
        super().__init__(model, options)
        self.hand_model = load_trained_hand_model(model.info, options.hand_model_path)


def load_trained_hand_model(info: ModelInfo, path=None):
    """The hand model the network was trained with: its PCA basis and shape space give θ and β
    their meaning, so a different active model (e.g. MANO via --mano-dir) is refused."""
    from models.hand.model import load_hand_model

    hand = load_hand_model(path)
    trained = info.hand_model
    active = hand.path.name if getattr(hand, "path", None) is not None else str(getattr(hand, "name", ""))
    if trained and active and trained != active:
        raise ValueError(f"{info.path.name} was trained with hand model {trained}, but {active} "
                         "is active (check --mano-dir / HANDSTREAM_MANO_DIR)")
    return hand


def hand_from_params(params: np.ndarray, pose_size: int, track: Track, box: CropBox, detected: bool,
                     context: FrameContext, hand_model, vertices: bool = True, jump_fraction: float = 0.5,
                     scale: float = CROP_SCALE) -> HandResult | None:
    """One crop's ``params`` (pose ``pose_size`` | β 10 | s, tx, ty | rotation 3) → the hand in the image and camera.

    The weak-perspective coordinates are ``box``'s [-1, 1] square (mirrored for left hands: the 3-D
    result is mirrored back); ``scale`` is the box's side over the hand's extent (the RGB crop rule's
    2.2; a keypoint box's margin). Updates the track for the next frame: where the predicted hand lies
    and the confidence to keep following it without a detection (``detected``: this box came from one).
    Returns ``None`` and zeroes the track's confidence when the camera is unusable.
    """
    from models.hand.model import rodrigues

    params = params.astype(np.float64)
    if not (np.all(np.isfinite(params)) and params[pose_size + BETA_SIZE] > 0):
        track.confidence = 0.0  # no usable camera: re-detect on the next frame
        return None
    theta = params[:pose_size]
    beta, change = context.shape(track, params[pose_size:pose_size + BETA_SIZE].astype(np.float32))
    camera = params[pose_size + BETA_SIZE:pose_size + BETA_SIZE + CAMERA_SIZE]
    s, t, r = camera[0], camera[1:3], camera[3:6]
    out = hand_model.forward(theta[None], beta[None].astype(np.float64), vertices=vertices)
    rot = rodrigues(r)
    joints = out.joints[0] @ rot.T            # metres, hand-model origin, camera axes
    verts = out.vertices[0] @ rot.T if vertices and out.vertices is not None else None
    uv = s * joints[:, :2] + t                # crop coordinates in [-1, 1]
    joints_2d = crop_to_image(uv, box)
    if box.mirrored:  # the model saw a mirrored right hand: mirror the 3-D result back
        joints = joints * _MIRROR_X
        verts = None if verts is None else verts * _MIRROR_X
    frame, intrinsics = context.frame, context.intrinsics
    depth = frame.depth if frame.depth is not None and frame.depth.shape == (
        intrinsics.height, intrinsics.width) else None
    placed = weak_perspective_to_camera(joints, s, t, (box.cx, box.cy), box.size, intrinsics,
                                        depth, mirrored=box.mirrored)
    joints_mm = placed.joints_mm
    verts_mm = None if verts is None else (verts * 1000.0 + placed.translation_mm).astype(np.float32)
    # tracking confidence: the detector's score, decayed when the predicted hand leaves its crop
    inside = float((np.abs(uv) < 1.0).all(axis=1).mean())
    new_box = square_box(joints_2d, scale=scale)
    moved = math.hypot(new_box.cx - box.cx, new_box.cy - box.cy) / box.size
    grew = abs(math.log(max(new_box.size, 1e-6) / box.size))
    plausible = inside * math.exp(-2.0 * grew) * float(moved < jump_fraction)
    track.confidence *= max(plausible, 0.5) if detected else plausible
    track.landmarks = joints_2d
    track.centre = np.array([new_box.cx, new_box.cy])
    track.size = new_box.size / scale
    track.age += 1
    return HandResult(track_id=track.track_id, handedness=track.handedness,
                      confidence=float(track.confidence), box=box.bounds,
                      joints_2d=joints_2d.astype(np.float32), joints_3d=joints_mm.astype(np.float32),
                      vertices=verts_mm, theta=theta.astype(np.float32), beta=beta.astype(np.float32),
                      camera=camera.astype(np.float32), beta_change=change)
