"""Hand detection on depth images: the nearest blobs in range, with their centres of mass (DeepPrior).

Why this simple rule: in front of a depth camera the hands are almost always the closest objects.
The nearest valid depth starts a slab ``band_mm`` deep; its nearest sizeable connected blob, cut off
at depth jumps (`models.depth_crop.nearest_blob`), is a hand. That blob, plus the surface continuing
it without a depth jump (the forearm: neighbours differing by less than ``continuity_mm`` per pixel),
is then removed and the search repeats for the second hand. It costs a few milliseconds per frame
on every fourth pixel of every fourth row (``step``).

What a real sensor adds (shadows beside every edge, holes, a sleeve wider than the forearm, a body behind):
a blob is a hand only if most of its outline lies in front of what is behind it (``standout``: a patch of
wall cut out by the slab has none), a blob touching a hand found before is a piece of that hand's arm, and
a hand at the end of an arm or sleeve that was found first (it enters from the image border, the hand does
not) takes that arm's place. Such an arm is removed alone, not with the surface continuing it: a sleeve nearer
than the wrist, parted from it by a rim the sensor loses, continues through any gap in the rim into the hand.
An arm that recedes from the hand deeper than the slab reaches leaves the blob off the border; where a smooth
surface continues the blob's deepest pixels to the border (``_arm_beyond``), the arm enters there, as at the border.

Tables and bodies (issue 23): an arm passing through a table, or a hand a few centimetres in front of a body, is
continuous with that surface, so clearing a rejected blob with everything continuing it cleared the hand too.
A rejected blob now clears only what lies on the smooth surface fitted to it (``_surface``); what stands off it
stays and may be the hand, whose outline then counts as standing out where it lies ``surface_mm`` in front of
the cleared surface. A strip of table entering the image is rejected for being flat (``min_relief_mm``), and a
blob entering along more of the border than an arm's slanted cut (``max_entry_mm``) for being a table or body
with the hand joined to it: kept as an arm, its centre landed on the surface, hundreds of millimetres off the hand.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.tracks import Detection
from models.depth_crop import jump_pixels, nearest_blob, nearest_reading, refine_hand_centre, standout

HAND_SPAN_MM = 180.0  # a hand's extent, to reject blobs too small to be a hand at their depth
ARM_WIDTH_MM = 60.0  # a forearm's width: where an arm leaves a blob, its cut is about this wide
SMOOTH_MM = 20.0  # an arm's surface: neighbours (every `step`-th pixel) differ by less than this


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
    min_relief_mm: float = 1.5  # RMS off the best plane of a blob entering the image: an arm is round, a table flat
    surface_mm: float = 15.0  # a surface cleared as no hand (table, wall, body): its pixels this close to its fit
    max_entry_mm: float = 3.0 * ARM_WIDTH_MM  # border a blob enters along, beyond which it is a table or body
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
        surface = np.zeros(d.shape, bool)  # pixels of tables, walls and bodies cleared as no hand
        jump = o.continuity_mm * o.step
        jumps: float | np.ndarray = jump  # what an outline must lie behind: less where it lies on a cleared surface
        # a few extra tries skip specks, walls and pieces of arms; up to two surfaces (a table, a body) cleared before
        # any hand is found cost none
        tries, surfaces = self.max_hands * 3, 2
        while tries > 0:
            arms = any(border for _, _, border in objects)
            if np.count_nonzero(remaining) < 4 or (len(objects) >= self.max_hands and not arms):
                break
            blob = nearest_blob(d, remaining, o.band_mm, jump)
            ys, xs = np.nonzero(blob)
            zs = d[ys, xs]
            z = float(np.median(zs))
            hand_px = (fx / o.step * HAND_SPAN_MM / z) * (fy / o.step * HAND_SPAN_MM / z)
            tries -= 1
            if len(zs) < o.min_area_fraction * hand_px:
                # a speck (flying pixels, a sliver, a piece cut off by jumps) alone: what continues it may be the hand
                remaining &= ~blob
                continue
            region = self._continuing(remaining, d, blob, (int(xs[0]), int(ys[0])), jump)
            on_border = (ys == 0) | (xs == 0) | (ys == d.shape[0] - 1) | (xs == d.shape[1] - 1)
            border = bool(on_border.any())
            entry_mm = np.count_nonzero(on_border) * o.step * z / fx
            if len(zs) > o.max_area_fraction * hand_px or standout(d, valid, blob, jumps) < o.min_standout or \
                    border and (entry_mm > o.max_entry_mm or
                                self._flatness(xs, ys, zs, fx, fy, d.shape) < o.min_relief_mm):
                # a patch of a wall, table or body: clear its surface, not what stands off it (a hand lying on it)
                cleared = self._surface(d, blob, region, o.surface_mm)
                surface |= cleared
                jumps = np.where(surface, o.surface_mm, jump)
                remaining &= ~(cleared if (cleared & blob).any() else blob)
                if not objects and surfaces > 0:
                    tries, surfaces = tries + 1, surfaces - 1
                continue
            touched = [i for i, (_, taken, _) in enumerate(objects) if self._touches(blob, taken)]
            # a piece of a hand found before (its arm cut off by a shadow or a hole, or its sleeve) and what continues
            # it, unless it is the hand at the end of an arm or sleeve taken before it
            if touched and (border or not objects[touched[0]][2]):
                remaining &= ~region
                continue
            remaining &= ~(blob if border else region)  # an arm alone: the hand it goes on into is found next
            entry = np.zeros(len(xs), bool) if border else \
                self._arm_beyond(d, valid, blob, o.band_mm, 3.0 * hand_px, 0.5 * ARM_WIDTH_MM * fx / o.step / z)[ys, xs]
            u, v, zc = self._centre_of_mass(xs.astype(np.float32), ys.astype(np.float32), zs, entry, fx, fy, d.shape)
            found = Detection(centre=np.array([u, v]), size=fx * o.cube_mm / zc, handedness="unknown", score=1.0,
                              centre_uvz=np.array([u, v, zc]))
            if touched:  # the hand at the end of an arm or sleeve taken before it takes its place
                objects[touched[0]] = (found, objects[touched[0]][1] | region, False)
            elif len(objects) < self.max_hands:
                objects.append((found, region, border))
        return [found for found, _, _ in objects]

    @staticmethod
    def _touches(blob: np.ndarray, taken: np.ndarray) -> bool:
        """Whether a blob lies within three (subsampled) pixels of what was taken for a hand before: the
        pixels beside a depth jump, left out of both, leave a gap of two."""
        import cv2

        return bool((cv2.dilate(taken.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool) & blob).any())

    def _centre_of_mass(self, xs: np.ndarray, ys: np.ndarray, zs: np.ndarray, entry: np.ndarray, fx: float,
                        fy: float, shape: tuple[int, int]) -> tuple[float, float, float]:
        """The blob's hand centre (``models.depth_crop.refine_hand_centre``: DeepPrior's centre of mass,
        kept off a forearm entering the image or leaving the blob at `entry`), as full-resolution u, v and z. The
        detector is not given the principal point; the image centre stands in for it, which only tilts the metric
        distances the refinement measures, not where its centre lands in the image."""

        o = self.options
        h, w = shape
        cx, cy = (w * o.step - 1) / 2.0, (h * o.step - 1) / 2.0
        u = xs * o.step + (o.step - 1) / 2.0
        v = ys * o.step + (o.step - 1) / 2.0
        points = np.stack([(u - cx) * zs / fx, (v - cy) * zs / fy, zs], axis=1)
        border = (xs == 0) | (ys == 0) | (xs == w - 1) | (ys == h - 1) | entry
        x, y, z = refine_hand_centre(points, border, o.cube_mm)
        return float(x * fx / z + cx), float(y * fy / z + cy), float(z)

    def _flatness(self, xs: np.ndarray, ys: np.ndarray, zs: np.ndarray, fx: float, fy: float,
                  shape: tuple[int, int]) -> float:
        """RMS distance (mm) of a blob's points from their best plane. Why: a strip of table or wall the slab cuts
        out can stand out of what lies around it (its edge, a band the sensor loses at a grazing angle), but it is
        flat to the sensor's noise; a hand is not (fingers, knuckles and the palm's curve leave 2 mm or more)."""
        o = self.options
        pick = slice(None, None, max(1, len(zs) // 400))  # a few hundred points measure it
        xs, ys, zs = xs[pick], ys[pick], zs[pick].astype(np.float64)
        points = np.stack([(xs * o.step - shape[1] * o.step / 2) * zs / fx,
                           (ys * o.step - shape[0] * o.step / 2) * zs / fy, zs], axis=1)
        points -= points.mean(axis=0)
        return float(np.sqrt(max(np.linalg.eigvalsh(points.T @ points / len(points))[0], 0.0)))

    @staticmethod
    def _arm_beyond(d: np.ndarray, valid: np.ndarray, blob: np.ndarray, band_mm: float, max_px: float,
                    min_px: float) -> np.ndarray:
        """The blob's pixels where an arm leaves it beyond the slab's far side: a smooth surface deeper than the
        slab, continuing the blob's deepest pixels, that reaches the image border and is smaller than `max_px` (a wall
        or a body is larger); none unless the arm's cut is `min_px` wide."""
        import cv2

        far = nearest_reading(d[blob]) + band_mm
        cut = blob & (d > far - SMOOTH_MM)
        if np.count_nonzero(cut) < min_px:  # the entry lies in the cut: none (nearly every hand) costs no more
            return np.zeros_like(blob)
        step = jump_pixels(np.where(valid, d, np.float32(1e7)), SMOOTH_MM)
        deeper = valid & ~blob & ~step & (d > far - SMOOTH_MM)
        _, labels, stats, _ = cv2.connectedComponentsWithStats(deeper.astype(np.uint8), connectivity=4)
        near_cut = cv2.dilate(cut.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        h, w = d.shape
        arms = np.zeros(d.shape, bool)
        for k in np.unique(labels[near_cut & deeper]):
            x0, y0, bw, bh, area = stats[k]
            if area < max_px and (x0 == 0 or y0 == 0 or x0 + bw == w or y0 + bh == h):
                arms |= labels == k
        if not arms.any():
            return np.zeros_like(blob)
        entry = cut & cv2.dilate(arms.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        return entry if np.count_nonzero(entry) >= min_px else np.zeros_like(blob)

    @staticmethod
    def _continuing(remaining: np.ndarray, d: np.ndarray, blob: np.ndarray, seed: tuple[int, int],
                    continuity_mm: float) -> np.ndarray:
        """The blob and the surface continuing it without a depth jump (a hand's forearm; a wall's or table's rest),
        flooded from the blob's pixel `seed` (x, y)."""
        import cv2

        surface = np.where(remaining | blob, d, np.float32(1e7)).astype(np.float32)
        mask = np.zeros((d.shape[0] + 2, d.shape[1] + 2), np.uint8)
        flags = 8 | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
        cv2.floodFill(surface, mask, seed, 0, continuity_mm, continuity_mm, flags)
        return (mask[1:-1, 1:-1] != 0) | blob

    @staticmethod
    def _surface(d: np.ndarray, blob: np.ndarray, region: np.ndarray, within_mm: float) -> np.ndarray:
        """The pixels of `region` (a blob that is no hand and the surface continuing it) within `within_mm` of the
        smooth surface fitted to it: 1/z quadratic in the image, exact for a plane (a table, a wall), close for a
        body. Why not the whole region: a hand a few centimetres in front of a body, or on an arm that passes
        through a table, is continuous with that surface, and clearing the region cleared the hand with it.
        The fit is trimmed once, so a hand inside the region does not pull the surface towards it."""
        h, w = d.shape
        every = max(1, int(np.sqrt(np.count_nonzero(region) / 800)))  # several hundred points fit a smooth surface
        ys, xs = np.nonzero(region[::every, ::every])
        x, y = xs * (every / w) - 0.5, ys * (every / h) - 0.5
        a = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)
        z = d[ys * every, xs * every].astype(np.float64)

        def fit(keep: np.ndarray) -> np.ndarray:  # least squares of 1000/z (the normal equations: 6 unknowns)
            k = a[keep]
            return np.linalg.solve(k.T @ k + 1e-9 * np.eye(6), k.T @ (1000.0 / z[keep]))

        coef = fit(np.ones(len(z), bool))
        off = np.abs(z - 1000.0 / np.maximum(a @ coef, 1e-6))
        coef = fit(off < max(within_mm, 2.0 * float(np.median(off))))  # again without a hand inside the region
        c = coef.astype(np.float32)
        gx = np.arange(w, dtype=np.float32) / w - 0.5
        gy = np.arange(h, dtype=np.float32) / h - 0.5
        rows, slopes = c[0] + c[2] * gy + c[5] * gy * gy, c[1] + c[4] * gy  # per row: a quadratic in x
        fitted = rows[:, None] + slopes[:, None] * gx[None, :] + c[3] * (gx * gx)[None, :]
        return region & (np.abs(d - np.float32(1000.0) / np.maximum(fitted, np.float32(1e-6))) < within_mm)
