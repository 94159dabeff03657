"""The β plot: keeps only the last seconds, restarts on a replay, and draws the ten traces."""
from __future__ import annotations

import numpy as np
import pytest

from app.beta_plot import BetaPlot


def test_keeps_only_the_window_and_restarts_when_time_goes_back(qtbot):
    plot = BetaPlot(seconds=2.0)
    qtbot.addWidget(plot)
    for i in range(100):  # 3.3 s at 30 fps
        plot.add(i / 30.0, np.full(10, i, np.float32), locked=i >= 80)
    t, b, locked = plot.series()
    assert t[-1] - t[0] <= 2.0 and t[-1] - t[0] > 1.9
    assert b.shape == (len(t), 10) and b[-1, 0] == 99
    assert locked[-1] and not locked[0]
    plot.add(0.0, np.zeros(10), locked=False)  # a looped file starts again
    assert len(plot.series()[0]) == 1


def test_draws_traces_and_shades_locked_stretches(qtbot, image_array):
    plot = BetaPlot(seconds=2.0)
    qtbot.addWidget(plot)
    plot.resize(300, 120)
    empty = image_array(plot.grab().toImage())
    rng = np.random.default_rng(0)
    for i in range(60):
        plot.add(i / 30.0, rng.normal(size=10), locked=False)
    wandering = image_array(plot.grab().toImage())
    assert np.mean(np.abs(wandering.astype(np.float32) - empty)) > 1.0
    locked_beta = rng.normal(size=10)
    for i in range(60, 120):
        plot.add(i / 30.0, locked_beta, locked=True)
    locked = image_array(plot.grab().toImage()).astype(np.int32)
    # the right half (all locked) is shaded green and its traces are flat: each column looks the same
    right = locked[10:-10, 200:290]
    assert np.abs(right - right[:, :1]).max() < 40
    assert np.mean(right[..., 1]) > np.mean(wandering[10:-10, 200:290, 1])


def test_rejects_a_non_positive_window():
    with pytest.raises(ValueError, match="window"):
        BetaPlot(seconds=0)
