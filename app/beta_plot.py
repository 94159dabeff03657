"""A live plot of the 10 shape values (β) over the last seconds, drawn with QPainter.

Why: locking the shape is only convincing when you can see it. While unlocked the lines wander with
the model's per-frame estimate; once locked they run flat. Stretches recorded while the lock held
are shaded so the moment of locking is visible too.
"""
from __future__ import annotations

from collections import deque

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QColor, QPainter, QPen, QPolygonF
from PyQt6.QtWidgets import QSizePolicy, QWidget

NUM_BETAS = 10
# ten distinguishable line colours (hue wheel)
COLOURS = [QColor.fromHsv(int(h), 200, 235) for h in np.linspace(0, 324, NUM_BETAS)]


class BetaPlot(QWidget):
    """Keeps ``seconds`` of (time, β, locked) samples of one hand and draws them as 10 lines."""

    def __init__(self, seconds: float = 5.0, parent=None) -> None:
        super().__init__(parent)
        if seconds <= 0:
            raise ValueError(f"beta plot window must be positive, got {seconds} s")
        self.seconds = seconds
        self._samples: deque[tuple[float, np.ndarray, bool]] = deque()
        self.setMinimumSize(240, 110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("shape β1..β10 over the last seconds; shaded while the shape is locked")

    def add(self, t: float, beta: np.ndarray, locked: bool) -> None:
        """Append one sample (``t`` seconds, any clock) and forget samples older than the window."""
        beta = np.asarray(beta, np.float32).reshape(-1)[:NUM_BETAS]
        if self._samples and t < self._samples[-1][0]:  # a replay restarted: start a fresh trace
            self._samples.clear()
        self._samples.append((float(t), beta, bool(locked)))
        while self._samples and self._samples[-1][0] - self._samples[0][0] > self.seconds:
            self._samples.popleft()
        self.update()

    def clear(self) -> None:
        self._samples.clear()
        self.update()

    def series(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What is plotted: times (N,), betas (N,10), locked flags (N,)."""
        if not self._samples:
            return np.zeros(0), np.zeros((0, NUM_BETAS), np.float32), np.zeros(0, bool)
        t, b, lk = zip(*self._samples)
        return np.array(t), np.stack(b), np.array(lk)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(30, 6, -6, -6)
        p.fillRect(self.rect(), QColor(28, 30, 36))
        p.setPen(QColor(150, 150, 160))
        p.drawText(QRectF(2, 0, 28, self.height()), Qt.AlignmentFlag.AlignCenter, "β")
        t, b, locked = self.series()
        if len(t) < 2:
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, "shape values appear when a hand is tracked")
            return
        t_end = t[-1]
        span = max(float(np.abs(b).max()), 0.5) * 1.1

        def x(ti):  # seconds -> pixels (scalars or arrays)
            return rect.right() - (t_end - ti) / self.seconds * rect.width()

        def y(v):  # beta -> pixels
            return rect.center().y() - v / span * rect.height() / 2

        # shade locked stretches: one rectangle per run of samples taken while locked
        edges = np.flatnonzero(np.diff(np.concatenate([[0], locked.astype(np.int8), [0]])))
        for start, stop in zip(edges[::2], edges[1::2] - 1):
            if stop > start:
                p.fillRect(QRectF(QPointF(x(t[start]), rect.top()), QPointF(x(t[stop]), rect.bottom())),
                           QColor(70, 90, 70))
        p.setPen(QPen(QColor(90, 90, 100), 1, Qt.PenStyle.DashLine))
        p.drawLine(QPointF(rect.left(), y(0)), QPointF(rect.right(), y(0)))
        # one-pixel pens: Qt strokes wider antialiased lines through its path stroker, which took 56 ms
        # for these 10 lines of 150 points against 3.5 ms (a paint per engine frame, on the GUI thread)
        xs = x(t).tolist()
        for k in range(b.shape[1]):
            p.setPen(QPen(COLOURS[k], 1.0))
            p.drawPolyline(QPolygonF([QPointF(a, v) for a, v in zip(xs, y(b[:, k]).tolist())]))
        if locked[-1]:
            p.setPen(QColor(200, 240, 200))
            p.drawText(rect.adjusted(4, 2, -4, -2), Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft,
                       "shape locked")
