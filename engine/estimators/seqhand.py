"""SeqHAND-Net live: an RGB crop → 26 parameters (pose PCA 10, shape β 10, weak-perspective camera 6)
→ the hand model's joints and mesh, placed in the camera.

Why it can follow its own predictions: the network sees the whole hand in a 2.2x crop, so the joints
it predicts place the next frame's crop; MediaPipe (~25-30 ms here) then only runs every
``redetect_every`` frames, or when the prediction looks implausible. Left hands are mirrored into
the right-hand model and back.
"""
from __future__ import annotations

import time

import numpy as np

from engine.crop import CropBox, crop_image, square_box
from engine.estimators.base import FrameContext
from engine.estimators.hand_params import HandModelEstimator, hand_from_params
from engine.frames import Frame
from engine.results import HandResult
from engine.runtime import ModelInfo
from engine.tracks import Detection, Track

HAND_BOX_MM = 180.0  # a hand's extent: turns a depth detection into the hand box the RGB crop rule wants


class SeqHandEstimator(HandModelEstimator):
    kind = "seqhand"
    inputs = ("image",)
    outputs = ("params",)
    image = "rgb"
    detectors = ("mediapipe", "depth")
    follows_predictions = True

    @classmethod
    def read_info(cls, info: ModelInfo, meta: dict[str, str], inputs: dict) -> None:
        info.input_size = int(meta.get("input_size") or inputs["image"].shape[-1])
        info.pose_pca = int(meta.get("pose_pca", 10))
        info.hand_model = meta.get("hand_model", "")

    @classmethod
    def example_inputs(cls, info: ModelInfo) -> dict[str, np.ndarray]:
        s = info.input_size
        return {"image": np.zeros((1, 3, s, s), np.float32)}

    def place(self, detections: list[Detection], detector: str, frame: Frame) -> list[Detection]:
        if detector == "depth":
            for det in detections:  # the depth cube is wider than the hand; the crop rule wants a hand box
                det.size = det.size * HAND_BOX_MM / self.model.info.cube_mm
        return detections

    def estimate(self, track: Track, detection: Detection | None, context: FrameContext) -> HandResult | None:
        if detection is None:  # followed from its own prediction
            pts = track.landmarks
        elif detection.landmarks is not None:
            pts = detection.landmarks
        else:
            pts = np.array([detection.centre - detection.size / 2, detection.centre + detection.size / 2])
        return self._run(track, square_box(pts, mirrored=track.handedness == "left"), detection, context)

    def _inputs(self, crop: np.ndarray, box: CropBox, detection: Detection | None) -> dict[str, np.ndarray]:
        """The network's inputs for one crop (HxWx3 uint8): the image in [0, 1], channels first."""
        return {"image": np.ascontiguousarray(crop.transpose(2, 0, 1)[None], np.float32) * (1.0 / 255.0)}

    def _run(self, track: Track, box: CropBox, detection: Detection | None, context: FrameContext
             ) -> HandResult | None:
        """Crop ``box``, run the network from the track's state, and turn its parameters into the hand
        (``detection``: what placed the box; None when the track follows its own prediction)."""
        c0 = time.perf_counter()
        crop = crop_image(context.frame.rgb, box, self.model.info.input_size)
        feeds = self._inputs(crop, box, detection)
        c1 = time.perf_counter()
        outputs, track.state = self.model.step(feeds, track.state or self.model.zero_state())
        c2 = time.perf_counter()
        hand = hand_from_params(outputs["params"][0], self.model.info.pose_pca, track, box, detection is not None,
                                context, self.hand_model, self.options.vertices, self.options.jump_fraction)
        c3 = time.perf_counter()
        context.timings.add_hand(c0, c1, c2, c3)
        return hand

    def missed(self, track: Track) -> None:
        track.confidence = 0.0  # not seen by the detector: look again on the next frame
