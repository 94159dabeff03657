"""Detecting the next frame while the model finishes this one: the engine's two stages on two threads.

Why: on the colour path MediaPipe's networks take ~5-10 ms a frame and the lifter's step (features, the LSTM,
the hand model, the camera placement, tracks, the result) ~1-1.5 ms after them; one after the other they add
up. The networks run in C++ without the GIL, so on two cores the next frame's detection
(``StreamingEngine.detect``) overlaps this frame's ``finish``: frames come out at the detector's pace. On the
depth path the depth detector (~3-5 ms of numpy and OpenCV) overlaps CADSTN's inferences, which run in ONNX Runtime
outside the GIL: 8-66 % more frames a second on two idle AVX2 cores (median 38 %), none
with the other core busy (``handstream bench --model cadstn`` with and without ``--no-detect-ahead``). The results
are the sequential ones: the frames reach the detector in order (it follows hands from frame to frame),
``finish`` runs the tracks and recurrent state in order on the caller's thread, and detection reads no track.

Latency does not grow: a frame is detected as soon as it is read and handed over the moment it is done. The
thread goes on to the next frame without waiting for the caller to take it (a wake-up of the caller is not on
the detector's path), but holds at most one detected frame: when the caller is slower (not on the colour path,
where the model's step is a fraction of the detector's), the thread waits, and a live source drops its old frames
rather than queueing them here.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from engine.frames import Frame

if TYPE_CHECKING:
    from engine.stream import DetectedFrame


class DetectAhead:
    """Runs ``engine.detect`` on ``frames`` on its own thread, ahead of the caller's ``get``: at most one detected
    frame waits for the caller while the thread detects the next.

    ``frames`` is read on that thread (``None`` items are skipped: a source's "nothing yet"); its errors and the
    detector's reach the caller from ``get`` in frame order. ``close`` stops the thread after the frame in hand.
    """

    def __init__(self, engine, frames: Iterable[Frame | None]) -> None:
        self.engine = engine
        self._frames = iter(frames)
        self._cond = threading.Condition()
        self._slot: DetectedFrame | None = None
        self._error: BaseException | None = None
        self._ended = False  # the thread is done: the frames ran out, failed, or close() was called
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="detect-ahead", daemon=True)
        self._thread.start()

    @property
    def ended(self) -> bool:
        """No frame will come any more (the frames ran out, or the thread was closed) and none is waiting."""
        with self._cond:
            return self._ended and self._slot is None and self._error is None

    def get(self, timeout: float | None = None) -> DetectedFrame | None:
        """The next detected frame, in order; None after ``timeout`` seconds or once ``ended``; raises the error
        that stopped the frames or the detector (once)."""
        with self._cond:
            self._cond.wait_for(lambda: self._slot is not None or self._ended, timeout)
            if self._slot is not None:
                detected, self._slot = self._slot, None
                self._cond.notify_all()  # the thread reads the next frame now
                return detected
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            return None

    def close(self, timeout: float = 1.0) -> None:
        """Stop the thread once the frame in hand is detected (at most ``timeout`` seconds are waited; it is a
        daemon). The engine stays open: its owner closes it, which waits for a detection still running."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            waited = time.perf_counter()
            while not self._closed:
                frame = next(self._frames, StopIteration)
                if frame is StopIteration or self._closed:
                    break
                if frame is None:  # nothing yet: look at _closed again
                    continue
                capture_ms = (time.perf_counter() - waited) * 1000.0
                detected = self.engine.detect(frame)
                detected.capture_ms = capture_ms
                with self._cond:
                    self._cond.wait_for(lambda: self._slot is None or self._closed)  # the caller took the last
                    self._slot = detected
                    self._cond.notify_all()
                waited = time.perf_counter()
        except Exception as exc:  # noqa: BLE001 - the caller's get raises it, after the frames before it
            with self._cond:
                self._error = exc
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()
