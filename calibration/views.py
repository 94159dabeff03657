"""Choosing diverse, steady board views from a live stream for calibration.

Why: a calibration from thirty near-identical views is no better than from one; focal length and
distortion are pinned down by views at different places in the image and different tilts, and
motion blur or rolling shutter of a moving board biases the corners. So a view is kept only when
the board was held still for a moment and differs enough from every view kept before.

A view is summarised by where the board is (centroid, normalised by the image size), how large it
appears (log scale) and how it is tilted (the anisotropy and direction of the affine map from board
millimetres to pixels: a tilted board is foreshortened along its tilt).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from calibration.board import BoardDetection


def view_descriptor(det: BoardDetection) -> np.ndarray:
    """(cx, cy, log scale, tilt·cos 2φ, tilt·sin 2φ) of a board view; distances between them compare views."""
    img = det.image_points.astype(np.float64)
    obj = det.object_points[:, :2].astype(np.float64)
    w, h = det.image_size
    centre = img.mean(axis=0)
    a, *_ = np.linalg.lstsq(obj - obj.mean(axis=0), img - centre, rcond=None)  # (2,2): mm -> px
    u, s, _ = np.linalg.svd(a.T)
    tilt = 1.0 - s[1] / max(s[0], 1e-12)
    phi = np.arctan2(u[1, 1], u[0, 1])  # image direction of the foreshortened axis
    scale = 0.25 * np.log(max(s[0] * s[1], 1e-12))  # half the log of px per mm: 25 % larger -> +0.11
    return np.array([centre[0] / w, centre[1] / h, scale, tilt * np.cos(2 * phi), tilt * np.sin(2 * phi)])


@dataclass
class ViewCollector:
    """Keeps steady views that differ from all kept ones; reports coverage for user feedback.

    ``min_difference``: descriptor distance to every kept view for a new one to count.
    ``steady_tolerance``: largest descriptor change between consecutive frames of a held board
    (0.004: about 2.5 px of motion in a 640 px wide image).
    ``steady_frames``: consecutive frames the board must be held for (1 = no steadiness check).
    """

    min_difference: float = 0.12
    steady_tolerance: float = 0.004
    steady_frames: int = 2
    grid: tuple[int, int] = (6, 4)
    views: list[BoardDetection] = field(default_factory=list)
    _kept: list[np.ndarray] = field(default_factory=list, repr=False)
    _last: np.ndarray | None = field(default=None, repr=False)
    _steady: int = field(default=0, repr=False)
    _covered: set[tuple[int, int]] = field(default_factory=set, repr=False)

    def consider(self, det: BoardDetection | None) -> bool:
        """Feed the detection of each frame (None when not found); True when this view was kept."""
        if det is None:
            self._last, self._steady = None, 0
            return False
        d = view_descriptor(det)
        held = self._last is not None and float(np.linalg.norm(d - self._last)) <= self.steady_tolerance
        self._steady = self._steady + 1 if held else 1
        self._last = d
        if self._steady < self.steady_frames:
            return False
        if self._kept and min(float(np.linalg.norm(d - k)) for k in self._kept) < self.min_difference:
            return False
        self._kept.append(d)
        self.views.append(det)
        w, h = det.image_size
        gx, gy = self.grid
        for x, y in det.image_points:
            self._covered.add((min(int(x / w * gx), gx - 1), min(int(y / h * gy), gy - 1)))
        return True

    @property
    def coverage(self) -> float:
        """Fraction of the image grid cells that kept views' corners have touched."""
        return len(self._covered) / float(self.grid[0] * self.grid[1])

    def uncovered_cells(self) -> list[tuple[int, int]]:
        """Grid cells (column, row) no kept view has reached yet — where to move the board next."""
        gx, gy = self.grid
        return [(x, y) for y in range(gy) for x in range(gx) if (x, y) not in self._covered]
