"""The keypoint-conditioned SeqHAND-Net live: the RGB crop plus 21 heatmaps of MediaPipe's landmarks → the same
26 parameters as SeqHAND-Net → the hand model's joints and mesh, placed in the camera.

Why MediaPipe on every frame: the heatmaps are half of what the network reads, so every frame needs the
detector's landmarks; the crop is the 2.2x box around them (mirrored for left hands, landmarks too), and the
ConvLSTM state restarts when MediaPipe loses the hand.
"""
from __future__ import annotations

import numpy as np

from engine.crop import CropBox, image_to_crop, square_box
from engine.estimators.base import FrameContext
from engine.estimators.seqhand import SeqHandEstimator
from engine.options import EngineOptions
from engine.results import HandResult
from engine.runtime import ModelInfo, ModelSession
from engine.tracks import Detection, Track
from models.heatmaps import NUM_KEYPOINTS, keypoint_heatmaps


class KeypointSeqHandEstimator(SeqHandEstimator):
    kind = "seqhand_kp"
    inputs = ("image", "heatmaps")
    detectors = ("mediapipe",)
    follows_predictions = False

    def __init__(self, model: ModelSession, options: EngineOptions) -> None:
        super().__init__(model, options)
        self.sigma = float(model.info.metadata["heatmap_sigma"])

    @classmethod
    def read_info(cls, info: ModelInfo, meta: dict[str, str], inputs: dict) -> None:
        super().read_info(info, meta, inputs)
        float(meta["heatmap_sigma"])  # a file without its heatmaps' width cannot be run: KeyError/ValueError

    @classmethod
    def example_inputs(cls, info: ModelInfo) -> dict[str, np.ndarray]:
        s = info.input_size
        return {**super().example_inputs(info), "heatmaps": np.zeros((1, NUM_KEYPOINTS, s, s), np.float32)}

    def estimate(self, track: Track, detection: Detection | None, context: FrameContext) -> HandResult | None:
        if detection is None or detection.landmarks is None:
            return None  # a detector without landmarks gives the heatmaps nothing to draw
        return self._run(track, square_box(detection.landmarks, mirrored=track.handedness == "left"), detection,
                         context)

    def _inputs(self, crop: np.ndarray, box: CropBox, detection: Detection | None) -> dict[str, np.ndarray]:
        uv = image_to_crop(detection.landmarks, box)  # mirrored with the crop for a left hand
        heatmaps = keypoint_heatmaps(uv, self.model.info.input_size, self.sigma)[None]
        return {**super()._inputs(crop, box, detection), "heatmaps": heatmaps}

    def missed(self, track: Track) -> None:
        track.state = {}  # MediaPipe lost the hand: start afresh when it comes back
