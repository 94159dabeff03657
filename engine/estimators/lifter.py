"""The keypoint lifter live: MediaPipe's landmarks on every frame → 61 parameters (pose θ 45, shape β 10,
weak-perspective camera 6) → the hand model's joints and mesh, placed in the camera.

Why MediaPipe on every frame: the lifter sees no image, only the landmarks (their 2-D positions, relative depth
and metric 3-D), so there is nothing to follow between detections; MediaPipe's landmark network itself follows
the hand from frame to frame (`models.mediapipe_tracking`), its palm detector runs only to find hands. The LSTM
state starts fresh when the engine's track is new or MediaPipe missed the hand on a frame. Left hands
(MediaPipe's handedness) are mirrored into the right-hand model and back, like SeqHAND-Net's crops.
"""
from __future__ import annotations

import time

import numpy as np

from engine.crop import CropBox
from engine.estimators.base import FrameContext
from engine.estimators.hand_params import HandModelEstimator, hand_from_params
from engine.results import HandResult
from engine.runtime import ModelInfo
from engine.tracks import Detection, Track
from models.lifter.features import BOX_MARGIN, NUM_FEATURES, landmark_features

POSE_DIMS = 45


class LifterEstimator(HandModelEstimator):
    kind = "lifter"
    inputs = ("features",)
    outputs = ("params",)
    image = "rgb"
    detectors = ("mediapipe",)
    follows_predictions = False

    @classmethod
    def read_info(cls, info: ModelInfo, meta: dict[str, str], inputs: dict) -> None:
        info.hand_model = meta.get("hand_model", "")
        info.pose_pca = int(meta.get("pose_dims", POSE_DIMS))

    @classmethod
    def example_inputs(cls, info: ModelInfo) -> dict[str, np.ndarray]:
        return {"features": np.zeros((1, NUM_FEATURES), np.float32)}

    def estimate(self, track: Track, detection: Detection | None, context: FrameContext) -> HandResult | None:
        if detection is None or detection.landmarks is None or detection.world is None \
                or detection.landmarks_z is None:
            return None  # a detector without MediaPipe's landmarks gives the lifter nothing to read
        mirrored = track.handedness == "left"
        c0 = time.perf_counter()
        features, centre, half = landmark_features(detection.landmarks, detection.landmarks_z, detection.world,
                                                   mirrored)
        box = CropBox(float(centre[0]), float(centre[1]), float(2.0 * half), mirrored)
        c1 = time.perf_counter()
        outputs, track.state = self.model.step({"features": features[None]}, track.state or self.model.zero_state())
        c2 = time.perf_counter()
        track.confidence = detection.score
        hand = hand_from_params(outputs["params"][0], self.model.info.pose_pca, track, box, True, context,
                                self.hand_model, self.options.vertices, self.options.jump_fraction, scale=BOX_MARGIN)
        c3 = time.perf_counter()
        context.timings.add_hand(c0, c1, c2, c3)
        return hand

    def missed(self, track: Track) -> None:
        track.state = {}  # MediaPipe lost the hand: its motion so far says nothing about where it comes back
