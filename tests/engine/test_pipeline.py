"""Pipeline: source → engine → consumers on a worker thread; ends cleanly, survives failures."""
from __future__ import annotations

import threading
import time

import numpy as np

from engine.capture import CaptureSource
from engine.demo import DEMO_INTRINSICS, DemoSource, render_demo_frame
from engine.pipeline import Pipeline
from engine.stream import EngineOptions, StreamingEngine


def _engine(model) -> StreamingEngine:
    return StreamingEngine(EngineOptions(model="cadstn", model_path=model))


def test_a_finite_source_is_processed_completely_in_order(tiny_cadstn):
    engine = _engine(tiny_cadstn)
    seen = []
    pipeline = Pipeline(DemoSource(realtime=False, loop=False, seconds=1.0), engine,
                        lambda frame, result: seen.append((frame.index, result.frame_index, len(result.hands))))
    pipeline.start()
    assert pipeline.wait(30.0)
    pipeline.stop()
    engine.close()
    assert [s[0] for s in seen] == list(range(30))
    assert all(frame == result and hands == 1 for frame, result, hands in seen)
    stats = pipeline.stats()
    assert stats.frames == len(seen) and stats.fps > 0 and stats.error is None
    assert set(stats.stages) >= {"capture", "detect", "crop", "inference", "total", "latency"}


def test_stop_is_quick_and_the_consumer_never_blocks_the_capture(tiny_cadstn):
    from engine.demo import prerender

    prerender()
    engine = _engine(tiny_cadstn)
    pipeline = Pipeline(DemoSource(realtime=True, seconds=0.5), engine, lambda f, r: time.sleep(0.1))
    pipeline.start()
    time.sleep(1.0)
    start = time.monotonic()
    pipeline.stop()
    assert time.monotonic() - start < 1.0
    engine.close()
    assert pipeline.source.dropped > 0  # the camera went on; old frames were dropped, not queued
    assert not any(t.name in ("pipeline", "capture-demo") and t.is_alive() for t in threading.enumerate())


class _DyingSource(CaptureSource):
    """A file-like source whose data turns unreadable after ``good`` frames."""

    def __init__(self, good: int) -> None:
        super().__init__("dying.bag", realtime=False)
        self.good = good

    def _open(self) -> None:
        self.intrinsics = DEMO_INTRINSICS

    def _grab(self):
        if self._next_index >= self.good:
            raise OSError("unexpected end of data in dying.bag")
        rgb, depth = render_demo_frame(self._next_index / 30.0, "depth")
        return self._make_frame(self._next_index / 30.0, rgb, depth)


def test_a_source_failing_mid_run_ends_the_run_with_its_error_and_keeps_earlier_results(tiny_cadstn):
    engine = _engine(tiny_cadstn)
    kept = []
    pipeline = Pipeline(_DyingSource(good=7), engine, lambda f, r: kept.append(r))
    pipeline.start()
    assert pipeline.wait(10.0)
    pipeline.stop()
    engine.close()
    assert len(kept) == 7 and all(len(r.hands) == 1 for r in kept)
    assert "unexpected end of data in dying.bag" in pipeline.stats().error


def test_a_failing_consumer_does_not_stop_the_live_path(tiny_cadstn):
    engine = _engine(tiny_cadstn)
    calls = []

    def broken(frame, result):
        calls.append(frame.index)
        raise RuntimeError("display crashed")

    pipeline = Pipeline(DemoSource(realtime=False, seconds=0.5), engine, broken, max_frames=10)
    pipeline.start()
    assert pipeline.wait(10.0)
    pipeline.stop()
    engine.close()
    assert calls == list(range(10))
    assert "display crashed" in pipeline.error


def test_memory_stays_flat_over_many_frames(tiny_cadstn):
    from engine.bench import rss_mb

    engine = _engine(tiny_cadstn)
    marks = []
    pipeline = Pipeline(DemoSource(realtime=False, seconds=0.5), engine,
                        lambda f, r: marks.append(rss_mb()) if f.index % 100 == 99 else None, max_frames=500)
    pipeline.start()
    assert pipeline.wait(60.0)
    pipeline.stop()
    engine.close()
    growth = np.diff(marks[1:])  # the demo's 15 frames are rendered and cached by frame 100
    assert len(marks) == 5 and growth.sum() < 5.0, marks
