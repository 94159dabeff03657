"""A worker thread that pulls frames from a capture source through the engine to consumers.

Why a separate thread: the GUI (or the CLI's status line) must never wait for inference, and the
capture thread must never wait for anyone. Consumers (recorder, display) attach via ``on_result``;
it runs in the worker thread, so it must return quickly (hand the result to a queue or a Qt signal).
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from engine.ahead import DetectAhead
from engine.frames import Frame
from engine.results import FrameResult

STAGES = ("capture", "detect", "crop", "inference", "hand_model", "total", "latency")


@dataclass
class StageStats:
    """Median and 95th percentile of one stage over the recent window, in milliseconds."""

    median_ms: float = 0.0
    p95_ms: float = 0.0


@dataclass
class PipelineStats:
    """Live numbers for a status line: frames processed, throughput, drops and stage latencies.

    ``latency`` is capture-to-result time (includes queueing); ``total`` is the engine's own time.
    """

    frames: int = 0
    fps: float = 0.0
    dropped: int = 0
    stages: dict[str, StageStats] = field(default_factory=dict)
    status: str = ""
    running: bool = False
    error: str | None = None


class Pipeline:
    """``source → engine → on_result`` on a worker thread, with rolling statistics.

    ``max_frames`` stops after that many processed frames. The pipeline ends by itself when a finite
    source is finished or a source fails for good (``error`` then says why); results already handed
    to consumers are theirs to keep. ``stop()`` returns within about a second. An engine that ``detects_ahead``
    (a detector on every frame) detects the next frame on a second thread meanwhile (``engine.ahead``).
    """

    def __init__(self, source, engine, on_result: Callable[[Frame, FrameResult], None] | None = None,
                 *, max_frames: int | None = None, window: int = 120) -> None:
        self.source = source
        self.engine = engine
        self.on_result = on_result
        self.max_frames = max_frames
        self.frames = 0
        self.error: str | None = None
        self._window = window
        self._times: deque[float] = deque(maxlen=window)
        self._stage_ms: dict[str, deque[float]] = {s: deque(maxlen=window) for s in STAGES}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._done.is_set()

    def start(self) -> None:
        """Start the source unless it already runs (its errors raise here) and the worker thread."""
        if self._thread is not None:
            raise RuntimeError("pipeline was already started")
        if not getattr(self.source, "started", False):
            self.source.start()
        self._thread = threading.Thread(target=self._run, name="pipeline", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the pipeline ends by itself (finite source, ``max_frames``); True if it did."""
        return self._done.wait(timeout)

    def stop(self) -> None:
        """Stop the worker and the source within a second; the engine stays open (its owner closes it)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(0.3)  # at most one frame in flight; read() wakes every 0.2 s
        self.source.stop(timeout=0.5)

    def stats(self) -> PipelineStats:
        """A snapshot of the rolling statistics (thread-safe, cheap)."""
        with self._lock:
            times = list(self._times)
            stages = {k: list(v) for k, v in self._stage_ms.items()}
            frames = self.frames
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
        summary = {k: StageStats(float(np.median(v)), float(np.percentile(v, 95)))
                   for k, v in stages.items() if v}
        return PipelineStats(frames=frames, fps=fps, dropped=self.source.dropped, stages=summary,
                             status=getattr(self.source, "status", ""), running=self.running,
                             error=self.error or getattr(self.source, "error", None))

    def _run(self) -> None:
        ahead = DetectAhead(self.engine, self._frames()) if getattr(self.engine, "detects_ahead", False) else None
        try:
            while not self._stop.is_set():
                if self.max_frames is not None and self.frames >= self.max_frames:
                    break
                if ahead is not None:  # the next frame is detected on its own thread meanwhile (engine.ahead)
                    detected = ahead.get(timeout=0.2)
                    if detected is None:
                        if ahead.ended:
                            self.error = self.error or getattr(self.source, "error", None)
                            break
                        continue
                    frame, capture_ms = detected.frame, detected.capture_ms
                    result = self.engine.finish(detected)
                else:
                    waited = time.monotonic()
                    frame = self.source.read(timeout=0.2)
                    if frame is None:
                        if self.source.finished:
                            self.error = self.error or getattr(self.source, "error", None)
                            break
                        continue
                    capture_ms = (time.monotonic() - waited) * 1000.0
                    result = self.engine.process(frame)
                result.timings.capture_ms = capture_ms
                result.dropped_frames = self.source.dropped
                done = time.monotonic()
                self._record(result, frame, done)
                if self.on_result is not None:
                    try:
                        self.on_result(frame, result)
                    except Exception as exc:  # noqa: BLE001 - a consumer's bug must not stop the live path
                        self.error = f"result consumer failed: {exc}"
        except Exception as exc:  # noqa: BLE001 - surfaced through stats().error, not a dead thread
            self.error = f"engine failed: {exc}"
        finally:
            if ahead is not None:
                ahead.close()
            self._done.set()

    def _frames(self) -> Iterator[Frame | None]:
        """The source's frames for a detect-ahead thread; None while none has come (so it can be closed)."""
        while not self._stop.is_set():
            frame = self.source.read(timeout=0.2)
            if frame is None and self.source.finished:
                return
            yield frame

    def _record(self, result: FrameResult, frame: Frame, done: float) -> None:
        t = result.timings
        with self._lock:
            self.frames += 1
            self._times.append(done)
            for name, value in (("capture", t.capture_ms), ("detect", t.detect_ms), ("crop", t.crop_ms),
                                ("inference", t.inference_ms), ("hand_model", t.hand_model_ms),
                                ("total", t.total_ms)):
                self._stage_ms[name].append(value)
            if frame.captured_at > 0:
                self._stage_ms["latency"].append((done - frame.captured_at) * 1000.0)
