"""MediaPipe's palm detector run directly: the crops in which its landmark network looks for new hands.

Why: finding new hands is the part of MediaPipe's HandLandmarker that costs most, and a video needs it only
now and then (`models.mediapipe_tracking`); run alone, with no landmarks for the palms of hands already followed,
it costs about half of a whole HandLandmarker call. The decoding is MediaPipe's (its palm_detection_full
settings): 2,016 SSD anchors on 24x24 and 12x12 grids, box and 7 palm keypoints per anchor, a sigmoid score,
weighted non-maximum suppression; the crop is the palm's box turned by the wrist -> middle-knuckle keypoints,
squared, x2.6 and moved half its height towards the fingers.
"""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from models.bundle_network import BundleNetwork
from models.crop_axis import upward_turn
from models.mediapipe_landmarks import HandRoi

PALM_FILE = "hand_detector.tflite"  # the palm detector inside the .task bundle
INPUT_SIZE = 192
GRIDS = ((8, 2), (16, 6))  # (stride, anchors per cell): 24x24x2 + 12x12x6 = 2016 anchors
NMS_OVERLAP = 0.3
PALM_TO_HAND = 2.6  # the hand's crop is the palm's box x2.6 ...
PALM_SHIFT = -0.5  # ... moved half the box towards the fingers


def anchor_centres() -> np.ndarray:
    """(2016, 2) anchor centres in the input's [0, 1] coordinates, in the network's output order."""
    centres = []
    for stride, per_cell in GRIDS:
        cells = INPUT_SIZE // stride
        grid = (np.stack(np.meshgrid(np.arange(cells), np.arange(cells)), axis=-1).reshape(-1, 2) + 0.5) / cells
        centres.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centres)


def _weighted_nms(scores: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray, limit: int) -> list[tuple]:
    """MediaPipe's weighted suppression: the best palm and every palm overlapping it by IoU > 0.3 become one,
    averaged by score; then the next best of the rest. Boxes (N, 4) as centre x, y, width, height."""
    order = list(np.argsort(-scores))
    lo, hi = boxes[:, :2] - boxes[:, 2:] / 2.0, boxes[:, :2] + boxes[:, 2:] / 2.0
    area = np.prod(boxes[:, 2:], axis=1)
    merged = []
    while order and len(merged) < limit:
        top, rest = order[0], np.array(order)
        inter = np.prod(np.clip(np.minimum(hi[rest], hi[top]) - np.maximum(lo[rest], lo[top]), 0.0, None), axis=1)
        same = rest[inter / (area[rest] + area[top] - inter) > NMS_OVERLAP]
        w = scores[same] / scores[same].sum()
        merged.append((float(scores[top]), w @ boxes[same], np.tensordot(w, keypoints[same], axes=1)))
        merged_ids = set(same.tolist())
        order = [i for i in order if i not in merged_ids]
    return merged


class PalmDetector:
    """``detect(rgb)`` -> the hand crops (`HandRoi`) of the palms found, best first, at most ``max_palms``."""

    def __init__(self, task_path: Path | str | None = None, max_palms: int = 2, min_confidence: float = 0.5,
                 threads: int | None = None, fp16: bool | None = None) -> None:
        self._net = BundleNetwork(PALM_FILE, task_path, threads, fp16)
        self._anchors = anchor_centres()
        self.max_palms, self.min_confidence = max_palms, min_confidence

    def detect(self, rgb: np.ndarray) -> list[HandRoi]:
        """Palms in an HxWx3 uint8 RGB image, as the crops the landmark network reads their hands in."""
        h, w = rgb.shape[:2]
        side = float(max(h, w))  # letterboxed: the image centred in a square, zeros around it
        scale = INPUT_SIZE / side
        to_input = np.array([[scale, 0.0, (INPUT_SIZE - w * scale) / 2.0],
                             [0.0, scale, (INPUT_SIZE - h * scale) / 2.0]])
        x = cv2.warpAffine(rgb, to_input, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR)
        boxes_raw, logits = self._net.run((x.astype(np.float32) * np.float32(1.0 / 255.0))[None])
        raw = boxes_raw[0]
        logits = np.clip(logits[0, :, 0], -100.0, 100.0).astype(np.float64)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = np.flatnonzero(scores >= self.min_confidence)
        if keep.size == 0:
            return []
        decoded = raw[keep].astype(np.float64)  # input pixels, relative to the anchor
        boxes = decoded[:, :4] / INPUT_SIZE
        boxes[:, :2] += self._anchors[keep]
        keypoints = decoded[:, 4:].reshape(-1, 7, 2) / INPUT_SIZE + self._anchors[keep][:, None]
        offset = to_input[:, 2] / INPUT_SIZE
        rois = []
        for _, box, points in _weighted_nms(scores[keep], boxes, keypoints, self.max_palms):
            centre, size = (box[:2] - offset) * INPUT_SIZE / scale, box[2:] * INPUT_SIZE / scale
            wrist, knuckle = (points[[0, 2]] - offset) * INPUT_SIZE / scale
            rotation = upward_turn(wrist, knuckle)
            shift = PALM_SHIFT * size[1]
            centre = centre + shift * np.array([-math.sin(rotation), math.cos(rotation)])
            rois.append(HandRoi(centre=centre, size=float(size.max() * PALM_TO_HAND), rotation=rotation))
        return rois

    def close(self) -> None:
        self._net.close()
