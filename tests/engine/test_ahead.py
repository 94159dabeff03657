"""Detect ahead: the detector (MediaPipe, the depth detector) on the next frame while the model finishes this one
gives the sequential results, in order, hands frames over without queueing them, passes errors on in order and
stops cleanly."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from engine.ahead import DetectAhead
from engine.demo import DemoSource, render_demo_frame
from engine.opencv_source import OpenCVSource
from engine.pipeline import Pipeline
from engine.stream import DetectedFrame, EngineOptions, StreamingEngine

CLIP_FRAMES = 24


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """A short 640x480 mp4 of the demo hand (colour only), as a user's video would be."""
    import cv2

    path = tmp_path_factory.mktemp("clip") / "hand.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
    for i in range(CLIP_FRAMES):
        writer.write(np.ascontiguousarray(render_demo_frame(i / 30.0, "rgb")[0][..., ::-1]))
    writer.release()
    return path


def _run(source, options: EngineOptions):
    """A shipped model over a finite source through the pipeline: the results in order, and the threads
    ``engine.detect`` ran on."""
    engine = StreamingEngine(options)
    threads = set()
    detect = engine.detect

    def spy(frame):
        threads.add(threading.current_thread().name)
        return detect(frame)

    engine.detect = spy
    results = []
    pipeline = Pipeline(source, engine, lambda f, r: results.append(r))
    pipeline.start()
    assert pipeline.wait(120.0)
    pipeline.stop()
    engine.close()
    assert pipeline.error is None
    return results, threads


def _assert_same_results(ahead: tuple, sequential: tuple, frames: int) -> None:
    (ahead, ahead_threads), (sequential, sequential_threads) = ahead, sequential
    assert ahead_threads == {"detect-ahead"} and sequential_threads == {"pipeline"}
    assert [r.frame_index for r in ahead] == [r.frame_index for r in sequential] == list(range(frames))
    assert sum(len(r.hands) for r in ahead) >= frames - 2  # the detector finds the hand: the model really ran
    for a, s in zip(ahead, sequential):
        assert [(h.track_id, h.handedness) for h in a.hands] == [(h.track_id, h.handedness) for h in s.hands]
        for ha, hs in zip(a.hands, s.hands):  # the recurrent state ran on identically
            np.testing.assert_array_equal(ha.joints_3d, hs.joints_3d)
            if ha.theta is not None or hs.theta is not None:
                np.testing.assert_array_equal(ha.theta, hs.theta)
                np.testing.assert_array_equal(ha.beta, hs.beta)
        assert a.timings.detect_ms > 0 and a.timings.total_ms >= a.timings.detect_ms


def test_detecting_ahead_gives_the_sequential_results_frame_by_frame(clip: Path) -> None:
    def options(ahead: bool) -> EngineOptions:
        return EngineOptions(model="lifter", vertices=False, detect_ahead=ahead)

    _assert_same_results(_run(OpenCVSource(clip, realtime=False), options(True)),
                         _run(OpenCVSource(clip, realtime=False), options(False)), CLIP_FRAMES)


def test_the_depth_detector_ahead_gives_the_sequential_cadstn_results() -> None:
    """The shipped CADSTN on the demo's depth: the depth detector on the next frame changes nothing."""
    def run(ahead: bool):
        source = DemoSource(realtime=False, loop=False, kind="depth", seconds=CLIP_FRAMES / 30.0)
        return _run(source, EngineOptions(model="cadstn", vertices=False, detect_ahead=ahead))

    _assert_same_results(run(True), run(False), CLIP_FRAMES)


def test_a_pipeline_with_detect_ahead_stops_quickly_and_leaves_no_thread() -> None:
    from engine.demo import prerender

    prerender()
    engine = StreamingEngine(EngineOptions(model="lifter", vertices=False))
    assert engine.detects_ahead
    seen = []
    pipeline = Pipeline(DemoSource(realtime=True, kind="rgb"), engine, lambda f, r: seen.append(f.index))
    pipeline.start()
    time.sleep(1.0)
    start = time.monotonic()
    pipeline.stop()
    engine.close()  # waits for a detection still running on the detect-ahead thread
    assert time.monotonic() - start < 1.5
    assert len(seen) > 5 and seen == sorted(seen) and pipeline.error is None
    deadline = time.monotonic() + 2.0
    while any(t.name in ("pipeline", "detect-ahead") for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name in ("pipeline", "detect-ahead") for t in threading.enumerate())


def test_only_a_detector_on_every_frame_detects_ahead(tiny_seqhand, tiny_cadstn) -> None:
    with StreamingEngine(EngineOptions(model="lifter", detect_ahead=False)) as engine:
        assert not engine.detects_ahead
    with StreamingEngine(EngineOptions(model="seqhand", model_path=tiny_seqhand)) as engine:
        assert not engine.detects_ahead  # whether it detects depends on its tracks: nothing to do ahead
    with StreamingEngine(EngineOptions(model="cadstn", model_path=tiny_cadstn)) as engine:
        assert engine.detects_ahead  # the depth detector on every frame


class _Engine:
    """``detect`` as the engine's first stage, with a log of what happened on which side."""

    def __init__(self, log: list[str], fail_at: int | None = None) -> None:
        self.log = log
        self.fail_at = fail_at
        self.started: dict[int, threading.Event] = {}

    def detect(self, frame: int) -> DetectedFrame:
        self.started.setdefault(frame, threading.Event()).set()
        if frame == self.fail_at:
            raise ValueError(f"frame {frame} has no colour image")
        self.log.append(f"detected {frame}")
        return DetectedFrame(frame, None, [])


def _frames(log: list[str], count: int):
    for i in range(count):
        log.append(f"read {i}")
        yield i


def test_the_next_frame_is_detected_while_this_one_finishes_and_none_queues_up() -> None:
    log: list[str] = []
    engine = _Engine(log)
    ahead = DetectAhead(engine, _frames(log, 6))
    got = []
    while (detected := ahead.get(timeout=5.0)) is not None:
        got.append(detected.frame)
        log.append(f"took {detected.frame}")
        if detected.frame < 5:  # "finishing" this frame: the next one is detected meanwhile (else this times out)
            assert engine.started.setdefault(detected.frame + 1, threading.Event()).wait(5.0)
        time.sleep(0.05)  # a slow caller: the thread must wait for it, not run ahead
    ahead.close()
    assert got == [0, 1, 2, 3, 4, 5] and ahead.ended
    for i in range(2, 6):  # at most one detected frame waits while the next is detected: frame i is read only
        assert log.index(f"read {i}") > log.index(f"took {i - 2}")  # once frame i-2 was taken


def test_an_error_reaches_the_caller_after_the_frames_before_it() -> None:
    ahead = DetectAhead(_Engine([], fail_at=3), iter(range(10)))
    assert [ahead.get(timeout=5.0).frame for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="frame 3 has no colour image"):
        ahead.get(timeout=5.0)
    assert ahead.get(timeout=1.0) is None and ahead.ended
    ahead.close()


def test_close_returns_while_the_frames_still_wait_for_a_camera() -> None:
    camera = threading.Event()

    def frames():
        yield 0
        camera.wait(10.0)  # a camera that stopped delivering
        yield 1

    ahead = DetectAhead(_Engine([]), frames())
    assert ahead.get(timeout=5.0).frame == 0
    start = time.monotonic()
    ahead.close(timeout=0.3)
    assert time.monotonic() - start < 1.0
    camera.set()  # the frame that comes after the close is not detected
    ahead._thread.join(5.0)
    assert not ahead._thread.is_alive() and ahead.get(timeout=0.1) is None
