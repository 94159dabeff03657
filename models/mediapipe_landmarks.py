"""MediaPipe's hand-landmark network run directly on tracked hands, its palm detector only to find new ones.

Why: MediaPipe's HandLandmarker in VIDEO mode runs its palm detector on every frame while fewer hands are tracked
than it may report (one hand in view, two allowed: ~17 ms a frame here, against ~8 ms with one allowed), so
alone it cost the colour path more than everything else together. Here the landmark network (the same file,
from the shipped bundle, on LiteRT) follows each hand from the previous frame's landmarks as MediaPipe's own
tracking does, and the whole HandLandmarker (IMAGE mode) looks for new hands only every ``search_every`` frames
while a hand could still be added, or on every frame while none is tracked. The tracking crop is MediaPipe's
(`roi_from_landmarks`): on real video the landmarks agree with the HandLandmarker's to ~0.1 px.
"""
from __future__ import annotations

import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.mediapipe_hands import DEFAULT_TASK, LandmarkerHand, MediaPipeHands, quiet_native_stderr

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
    rotation = math.pi / 2.0 - math.atan2(-(knuckles[1] - wrist[1]), knuckles[0] - wrist[0])
    rotation = (rotation + math.pi) % (2.0 * math.pi) - math.pi
    c, s = math.cos(rotation), math.sin(rotation)
    box_centre = (p.min(axis=0) + p.max(axis=0)) / 2.0
    upright = (p - box_centre) @ np.array([[c, -s], [s, c]])  # the landmarks in the turned frame
    lo, hi = upright.min(axis=0), upright.max(axis=0)
    width, height = hi - lo
    mid = (lo + hi) / 2.0 + np.array([0.0, ROI_SHIFT * height])
    centre = box_centre + np.array([[c, -s], [s, c]]) @ mid
    return HandRoi(centre=centre, size=float(max(width, height) * ROI_SCALE), rotation=rotation)


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of the landmarks' boxes: two tracks or a track and a detection on one hand."""
    lo, hi = np.maximum(a.min(0), b.min(0)), np.minimum(a.max(0), b.max(0))
    inter = float(np.prod(np.clip(hi - lo, 0.0, None)))
    area = float(np.prod(a.max(0) - a.min(0)) + np.prod(b.max(0) - b.min(0)))
    return inter / max(area - inter, 1e-9)


class LandmarkNetwork:
    """MediaPipe's landmark network from the bundle on LiteRT: ``run(rgb, roi)`` -> (hand, presence)."""

    def __init__(self, task_path: Path | str | None = None, threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        with zipfile.ZipFile(Path(task_path) if task_path else DEFAULT_TASK) as bundle:
            model = bundle.read(LANDMARK_FILE)
        with quiet_native_stderr():
            self._net = Interpreter(model_content=model, num_threads=threads or min(2, os.cpu_count() or 1))
            self._net.allocate_tensors()
        self._input = self._net.get_input_details()[0]["index"]
        # outputs: 21 x (x, y, z) in input pixels, presence, P(right hand), 21 metric landmarks (crop's axes)
        self._outputs = [d["index"] for d in self._net.get_output_details()]

    def run(self, rgb: np.ndarray, roi: HandRoi) -> tuple[LandmarkerHand, float]:
        """The hand in ``roi`` of an HxWx3 uint8 RGB image, as MediaPipe reports it, and the network's presence."""
        M = roi.to_image()
        crop = cv2.warpAffine(rgb, cv2.invertAffineTransform(M), (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR)
        self._net.set_tensor(self._input, (crop.astype(np.float32) * np.float32(1.0 / 255.0))[None])
        self._net.invoke()
        points, presence, right, world = (self._net.get_tensor(i).reshape(-1) for i in self._outputs)
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


class TrackedMediaPipeHands:
    """``detect(rgb, timestamp_s)`` -> list of `LandmarkerHand` on a video, as MediaPipe's VIDEO mode reports them.

    Each tracked hand is followed by the landmark network alone; a hand whose presence falls below
    ``min_confidence`` is lost. New hands are searched for with the whole HandLandmarker (IMAGE mode) on every
    frame while none is tracked, and every ``search_every`` frames while fewer than ``max_hands`` are: a hand
    that comes into view while another is followed appears at most ``search_every - 1`` frames later.
    """

    def __init__(self, task_path: Path | str | None = None, max_hands: int = 2, min_confidence: float = 0.5,
                 search_every: int = 4, threads: int | None = None) -> None:
        self._finder = MediaPipeHands(task_path, max_hands, min_confidence, stills=True)
        self._network = LandmarkNetwork(task_path, threads)
        self.max_hands, self.min_confidence, self.search_every = max_hands, min_confidence, search_every
        self._rois: list[HandRoi] = []
        self._since_search = 0

    def detect(self, rgb: np.ndarray, timestamp_s: float = 0.0) -> list[LandmarkerHand]:
        """Hands in an HxWx3 uint8 RGB frame of the video (frames in order; the timestamp is not needed)."""
        hands: list[tuple[LandmarkerHand, float]] = []
        for roi in self._rois:
            hand, presence = self._network.run(rgb, roi)
            if presence >= self.min_confidence and all(_overlap(hand.landmarks, h.landmarks) < 0.5 for h, _ in hands):
                hands.append((hand, presence))
        self._since_search += 1
        if len(hands) < self.max_hands and (not hands or self._since_search >= self.search_every):
            self._since_search = 0
            for hand in self._finder.detect(rgb):
                if len(hands) < self.max_hands and all(_overlap(hand.landmarks, h.landmarks) < 0.5 for h, _ in hands):
                    hands.append((hand, 1.0))
        self._rois = [roi_from_landmarks(hand.landmarks) for hand, _ in hands]
        return [hand for hand, _ in hands]

    def close(self) -> None:
        """Release MediaPipe's graph (the landmark network goes with this object)."""
        self._finder.close()
        self._rois = []
