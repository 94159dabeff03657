"""MediaPipe's hand-landmark network run directly on a crop: the network and its tracking crop.

Why: the engine follows each hand with this network alone, from the previous frame's landmarks as MediaPipe's own
VIDEO mode does (`models.mediapipe_tracking`), instead of MediaPipe's whole HandLandmarker. The tracking crop is
MediaPipe's (`roi_from_landmarks`): on real video the landmarks agree with the HandLandmarker's to ~0.1 px.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.bundle_network import BundleNetwork
from models.crop_axis import upward_turn
from models.mediapipe_hands import LandmarkerHand

LANDMARK_FILE = "hand_landmarks_detector.tflite"  # the landmark network inside the .task bundle
INPUT_SIZE = 224
# The landmarks MediaPipe places the tracking crop by: wrist, thumb base, and the two lower joints of each finger.
ROI_LANDMARKS = [0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18]
ROI_SCALE = 2.0  # the crop is twice the landmarks' extent ...
ROI_SHIFT = -0.1  # ... moved a tenth of it towards the fingers
Z_SCALE = 2.5  # the network's z (crop pixels) to MediaPipe's reported z, in the same units as x


@dataclass
class HandRoi:
    """A square crop turned so that the fingers point up: ``centre`` (2,) and ``size`` in pixels, ``rotation`` in
    radians (positive turns the crop's up direction from the image's up towards its right)."""

    centre: np.ndarray
    size: float
    rotation: float

    def to_image(self) -> np.ndarray:
        """The 2x3 affine map from the network's input pixels to image pixels."""
        scale = self.size / INPUT_SIZE
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        A = np.array([[c, -s], [s, c]]) * scale
        return np.hstack([A, (self.centre - A @ np.full(2, INPUT_SIZE / 2.0))[:, None]])


def roi_from_landmarks(landmarks: np.ndarray) -> HandRoi:
    """MediaPipe's tracking crop for the next frame from this frame's 21 landmarks (pixels): turned by the wrist ->
    middle-knuckle direction, the bounds of the palm's landmarks in that frame, squared, doubled, shifted up."""
    p = np.asarray(landmarks, np.float64)[ROI_LANDMARKS]
    wrist = p[0]
    knuckles = ((p[4] + p[8]) / 2.0 + p[6]) / 2.0  # index and ring knuckles' middle, with the middle knuckle
    rotation = upward_turn(wrist, knuckles)
    c, s = math.cos(rotation), math.sin(rotation)
    box_centre = (p.min(axis=0) + p.max(axis=0)) / 2.0
    upright = (p - box_centre) @ np.array([[c, -s], [s, c]])  # the landmarks in the turned frame
    lo, hi = upright.min(axis=0), upright.max(axis=0)
    width, height = hi - lo
    mid = (lo + hi) / 2.0 + np.array([0.0, ROI_SHIFT * height])
    centre = box_centre + np.array([[c, -s], [s, c]]) @ mid
    return HandRoi(centre=centre, size=float(max(width, height) * ROI_SCALE), rotation=rotation)


def roi_overlap(a: HandRoi, b: HandRoi) -> float:
    """Intersection over union of two crops taken as upright squares: two tracks, or a track and a palm, on one
    hand (MediaPipe's own test, at 0.5)."""
    lo = np.maximum(a.centre - a.size / 2.0, b.centre - b.size / 2.0)
    hi = np.minimum(a.centre + a.size / 2.0, b.centre + b.size / 2.0)
    inter = float(np.prod(np.clip(hi - lo, 0.0, None)))
    return inter / max(a.size**2 + b.size**2 - inter, 1e-9)


class LandmarkNetwork:
    """MediaPipe's landmark network from the bundle on LiteRT: ``run(rgb, roi)`` -> (hand, presence)."""

    def __init__(self, task_path: Path | str | None = None, threads: int | None = None,
                 fp16: bool | None = None) -> None:
        # outputs: 21 x (x, y, z) in input pixels, presence, P(right hand), 21 metric landmarks (crop's axes)
        self._net = BundleNetwork(LANDMARK_FILE, task_path, threads, fp16)

    def run(self, rgb: np.ndarray, roi: HandRoi) -> tuple[LandmarkerHand, float]:
        """The hand in ``roi`` of an HxWx3 uint8 RGB image, as MediaPipe reports it, and the network's presence."""
        M = roi.to_image()
        crop = cv2.warpAffine(rgb, cv2.invertAffineTransform(M), (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR)
        outputs = self._net.run((crop.astype(np.float32) * np.float32(1.0 / 255.0))[None])
        points, presence, right, world = (out.reshape(-1) for out in outputs)
        points = points.reshape(21, 3).astype(np.float64)
        scale = roi.size / INPUT_SIZE
        world = world.reshape(21, 3).astype(np.float64)
        c, s = math.cos(roi.rotation), math.sin(roi.rotation)
        world[:, :2] = world[:, :2] @ np.array([[c, s], [-s, c]])  # the crop's axes back to the camera's
        p_right = float(right[0])
        hand = LandmarkerHand(landmarks=points[:, :2] @ M[:, :2].T + M[:, 2], relative_z=points[:, 2] * scale * Z_SCALE,
                              world=world, handedness="right" if p_right > 0.5 else "left",
                              score=max(p_right, 1.0 - p_right))
        return hand, float(presence[0])

    @property
    def precision(self) -> str:
        """fp16 or fp32: how the network runs on this CPU."""
        return self._net.precision

    def close(self) -> None:
        self._net.close()
