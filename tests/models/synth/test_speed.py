"""The generation-speed measurement counts what it generated and the time it took."""
from __future__ import annotations

import pytest

from models.synth.speed import measure_generation


def test_measure_generation_counts_frames_and_time() -> None:
    r = measure_generation("depth", size=32, workers=2, sequences=4, frames=3, bank_size=500)
    assert (r.frames, r.workers, r.size) == (12, 2, 32)
    assert r.seconds > 0 and r.cpu_seconds > 0
    assert r.frames_per_second == pytest.approx(12 / r.seconds)
    with pytest.raises(ValueError, match="kind"):
        measure_generation("thermal")
