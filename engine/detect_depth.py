"""Hand detection on depth images: the nearest blobs in range, with their centres of mass (DeepPrior).

Why this simple rule: in front of a depth camera the hands are almost always the closest objects.
The nearest valid depth starts a slab ``band_mm`` deep; its nearest sizeable connected blob, cut off
at depth jumps (`models.depth_crop.nearest_blob`), is a hand. That blob, plus the surface continuing
it without a depth jump (the forearm: neighbours differing by less than ``continuity_mm`` per pixel),
is then removed and the search repeats for the second hand. It costs about a millisecond per frame
on every fourth pixel of every fourth row (``step``).

What a real sensor adds (shadows beside every edge, holes, a sleeve wider than the forearm, a body behind):
a blob is a hand only if most of its outline lies in front of what is behind it (``standout``: a patch of
wall cut out by the slab has none), a blob touching a hand found before is a piece of that hand's arm, and
a hand at the end of an arm or sleeve that was found first (it enters from the image border, the hand does
not) takes that arm's place.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.tracks import Detection
from models.depth_crop import nearest_blob, refine_hand_centre, standout

HAND_SPAN_MM = 180.0  # a hand's extent, to reject blobs too small to be a hand at their depth


@dataclass
class DepthDetectorOptions:
    """Range of depths searched, slab depth of a hand, surface continuity per full-resolution pixel,
    the cube size (all mm), accepted blob areas relative to a hand's at its depth, and the subsampling."""

    near_mm: float = 150.0
    far_mm: float = 1500.0
    band_mm: float = 150.0
    continuity_mm: float = 10.0
    cube_mm: float = 250.0
    min_area_fraction: float = 0.05
    max_area_fraction: float = 3.0
    min_standout: float = 0.4  # share of a blob's outline that must lie behind it (``models.depth_crop.standout``)
    step: int = 4


class DepthHandDetector:
    """``detect(depth_mm, fx, fy)`` → up to ``max_hands`` ``Detection`` with pixel centre, the cube's
    projected size and the blob's centre of mass ``centre_uvz`` (u, v in pixels, z in mm); the engine
    turns it into camera-space millimetres with the calibration functions."""

    def __init__(self, max_hands: int = 2, options: DepthDetectorOptions | None = None) -> None:
        self.max_hands = max_hands
        self.options = options or DepthDetectorOptions()

    def detect(self, depth_mm: np.ndarray, fx: float, fy: float) -> list[Detection]:
        o = self.options
        if depth_mm.ndim != 2:
            raise ValueError(f"depth image must be HxW, got shape {depth_mm.shape}")
        d = depth_mm[:: o.step, :: o.step].astype(np.float32)
        remaining = (d > o.near_mm) & (d < o.far_mm)
        valid = d > 0
        # each hand found: its detection, what was taken for it (the hand and the surface continuing it) and
        # whether its blob enters from the image border (an arm, perhaps a sleeve with the hand at its end)
        objects: list[tuple[Detection, np.ndarray, bool]] = []
        for _ in range(self.max_hands * 3):  # a few extra tries skip specks, walls and pieces of arms
            arms = any(border for _, _, border in objects)
            if np.count_nonzero(remaining) < 4 or (len(objects) >= self.max_hands and not arms):
                break
            blob = nearest_blob(d, remaining, o.band_mm, o.continuity_mm * o.step)
            before = remaining.copy()
            self._remove_object(remaining, d, blob, o.continuity_mm * o.step)
            ys, xs = np.nonzero(blob)
            zs = d[ys, xs]
            z = float(np.median(zs))
            hand_px = (fx / o.step * HAND_SPAN_MM / z) * (fy / o.step * HAND_SPAN_MM / z)
            if not o.min_area_fraction * hand_px <= len(zs) <= o.max_area_fraction * hand_px:
                continue  # a speck or a wall, not a hand
            if standout(d, valid, blob, o.continuity_mm * o.step) < o.min_standout:
                continue  # a patch of a continuous surface (wall, body), not an object in front of it
            region = before & ~remaining
            border = bool(ys.min() == 0 or xs.min() == 0 or ys.max() == d.shape[0] - 1 or xs.max() == d.shape[1] - 1)
            u, v, zc = self._centre_of_mass(xs.astype(np.float32), ys.astype(np.float32), zs, fx, fy, d.shape)
            found = Detection(centre=np.array([u, v]), size=fx * o.cube_mm / zc, handedness="unknown", score=1.0,
                              centre_uvz=np.array([u, v, zc]))
            touched = [i for i, (_, taken, _) in enumerate(objects) if self._touches(blob, taken)]
            if touched:  # a piece of a hand found before: its arm cut off by a shadow or a hole, or its sleeve
                i = touched[0]
                if objects[i][2] and not border:  # ...or the hand at the end of an arm or sleeve taken before it
                    objects[i] = (found, objects[i][1] | region, False)
                continue
            if len(objects) < self.max_hands:
                objects.append((found, region, border))
        return [found for found, _, _ in objects]

    @staticmethod
    def _touches(blob: np.ndarray, taken: np.ndarray) -> bool:
        """Whether a blob lies within three (subsampled) pixels of what was taken for a hand before: the
        pixels beside a depth jump, left out of both, leave a gap of two."""
        import cv2

        return bool((cv2.dilate(taken.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool) & blob).any())

    def _centre_of_mass(self, xs: np.ndarray, ys: np.ndarray, zs: np.ndarray, fx: float, fy: float,
                        shape: tuple[int, int]) -> tuple[float, float, float]:
        """The blob's hand centre (``models.depth_crop.refine_hand_centre``: DeepPrior's centre of mass,
        kept off a forearm entering the image), as full-resolution u, v and z. The detector is not given
        the principal point; the image centre stands in for it, which only tilts the metric distances
        the refinement measures, not where its centre lands in the image."""

        o = self.options
        h, w = shape
        cx, cy = (w * o.step - 1) / 2.0, (h * o.step - 1) / 2.0
        u = xs * o.step + (o.step - 1) / 2.0
        v = ys * o.step + (o.step - 1) / 2.0
        points = np.stack([(u - cx) * zs / fx, (v - cy) * zs / fy, zs], axis=1)
        border = (xs == 0) | (ys == 0) | (xs == w - 1) | (ys == h - 1)
        x, y, z = refine_hand_centre(points, border, o.cube_mm)
        return float(x * fx / z + cx), float(y * fy / z + cy), float(z)

    @staticmethod
    def _remove_object(remaining: np.ndarray, d: np.ndarray, blob: np.ndarray, continuity_mm: float) -> None:
        """Clear the blob and the surface continuing it without a depth jump (the forearm) from the search."""
        import cv2

        surface = np.where(remaining | blob, d, np.float32(1e7)).astype(np.float32)
        mask = np.zeros((d.shape[0] + 2, d.shape[1] + 2), np.uint8)
        ys, xs = np.nonzero(blob)
        flags = 8 | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
        cv2.floodFill(surface, mask, (int(xs[0]), int(ys[0])), 0, continuity_mm, continuity_mm, flags)
        remaining &= mask[1:-1, 1:-1] == 0
        remaining &= ~blob
