"""Capture sources: one thread per camera or file, handing the newest frames to whoever processes them.

Why a thread and a tiny queue: a live camera never waits for the engine. When processing is slower
than the camera, the oldest queued frame is dropped (and counted) so the engine always works on a
recent image and latency never grows. Files played "as fast as possible" (``realtime=False``) are
the exception: nothing is dropped there, so two runs over the same recording give the same results.

Every source has ``start()``, ``read(timeout)``, ``stop()`` (returns within 1 s) and the attributes
``name``, ``intrinsics``, ``dropped``, ``finished``, ``status`` and ``error``. The sources themselves live
one kind per module (``opencv_source``, ``realsense_source``, ``demo``, ``session``); ``engine.sources``
picks one for a ``--source`` spec.
"""
from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from calibration.intrinsics import CameraIntrinsics
from engine.frames import Frame

STOP_TIMEOUT_S = 1.0


class NewestFrameQueue:
    """A bounded queue that keeps only the newest ``maxsize`` frames.

    ``put(block=False)`` never waits: when full it discards the oldest frame and counts it in
    ``dropped``. ``put(block=True)`` waits for room instead (lossless file playback).
    """

    def __init__(self, maxsize: int = 2) -> None:
        if maxsize < 1:
            raise ValueError(f"queue size must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self.dropped = 0
        self._items: deque[Frame] = deque()
        self._cond = threading.Condition()
        self._closed = False

    def put(self, frame: Frame, block: bool = False, should_stop: threading.Event | None = None) -> bool:
        """Queue ``frame``; returns True when an older frame had to be dropped to make room."""
        with self._cond:
            while block and len(self._items) >= self.maxsize and not self._closed:
                if should_stop is not None and should_stop.is_set():
                    return False
                self._cond.wait(0.05)
            dropped = False
            if len(self._items) >= self.maxsize:
                self._items.popleft()
                self.dropped += 1
                dropped = True
            self._items.append(frame)
            self._cond.notify_all()
            return dropped

    def get(self, timeout: float = 1.0) -> Frame | None:
        """The oldest queued frame, or None after ``timeout`` seconds (or at once when closed and empty)."""
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._cond:
            while not self._items:
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    return None
                self._cond.wait(remaining)
            frame = self._items.popleft()
            self._cond.notify_all()
            return frame

    def close(self) -> None:
        """No more frames will come: wake every reader."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)


class CaptureSource:
    """Base of every source: owns the thread, the newest-frame queue, status and reconnection.

    Subclasses implement ``_open()`` (acquire the device or file, set ``intrinsics``), ``_grab()``
    (the next frame, or None when a finite source is exhausted; raise ``OSError`` when the device
    fails) and ``_close()``. ``live`` sources (cameras) are reopened after a failure, up to
    ``reconnect_attempts`` times with growing pauses; files end with ``error`` set instead.
    """

    live = False

    def __init__(self, name: str, *, realtime: bool = True, queue_size: int = 2,
                 reconnect_attempts: int = 5) -> None:
        self.name = name
        self.realtime = realtime
        self.intrinsics: CameraIntrinsics | None = None
        self.status = "not started"
        self.error: str | None = None
        self.reconnect_attempts = reconnect_attempts
        self._queue = NewestFrameQueue(queue_size)
        self._stop = threading.Event()
        self._exhausted = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_index = 0
        self._pace_origin: tuple[float, float] | None = None  # (media time, wall time)

    # -- public interface -------------------------------------------------------------------
    @property
    def dropped(self) -> int:
        """Frames discarded because the consumer was slower than the source."""
        return self._queue.dropped

    @property
    def finished(self) -> bool:
        """True once a finite source is exhausted (or failed for good) and every frame was read."""
        return self._exhausted.is_set() and len(self._queue) == 0

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Open the device or file (errors raise here, in the caller's thread) and start capturing."""
        if self._thread is not None:
            raise RuntimeError(f"capture source {self.name} was already started")
        self._open()
        self.status = "running"
        self._thread = threading.Thread(target=self._run, name=f"capture-{self.name}", daemon=True)
        self._thread.start()

    def read(self, timeout: float = 1.0) -> Frame | None:
        """The next frame, or None when none arrived within ``timeout`` or the source is finished."""
        return self._queue.get(timeout)

    def stop(self, timeout: float = STOP_TIMEOUT_S * 0.8) -> None:
        """Stop capturing and release the device; returns within ``timeout`` (under a second).

        A device call that hangs longer is left to its daemon thread, which exits when it returns."""
        self._stop.set()
        self._queue.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self.status == "running":
            self.status = "stopped"

    def __enter__(self) -> CaptureSource:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- for subclasses -----------------------------------------------------------------------
    def _open(self) -> None:
        raise NotImplementedError

    def _grab(self) -> Frame | None:
        raise NotImplementedError

    def _close(self) -> None:
        pass

    def _make_frame(self, timestamp: float, rgb: np.ndarray | None, depth: np.ndarray | None) -> Frame:
        frame = Frame(index=self._next_index, timestamp=timestamp, rgb=rgb, depth=depth,
                      intrinsics=self.intrinsics, captured_at=time.monotonic())
        self._next_index += 1
        return frame

    def _pace(self, media_time: float) -> None:
        """In real time, sleep until ``media_time`` (seconds of the recording) is due."""
        if not self.realtime:
            return
        now = time.monotonic()
        if self._pace_origin is None or media_time < self._pace_origin[0]:
            self._pace_origin = (media_time, now)
            return
        due = self._pace_origin[1] + (media_time - self._pace_origin[0])
        while not self._stop.is_set() and due - time.monotonic() > 0:
            time.sleep(min(due - time.monotonic(), 0.05))

    # -- the thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    frame = self._grab()
                except Exception as exc:  # noqa: BLE001 - any device failure becomes a status
                    if not self.live or not self._reconnect(exc):
                        if not self._stop.is_set():
                            why = f"{exc}" if not self.live else \
                                f"{exc}; gave up after {self.reconnect_attempts} reconnection attempts"
                            self.error = f"{self.name}: {why}"
                            self.status = f"failed: {why}"
                        break
                    continue
                if frame is None:
                    self.status = "finished"
                    break
                self._queue.put(frame, block=not self.realtime, should_stop=self._stop)
        finally:
            try:
                self._close()
            except Exception:  # noqa: BLE001 - closing a vanished device may fail; nothing to save
                pass
            self._exhausted.set()
            self._queue.close()

    def _reconnect(self, exc: Exception) -> bool:
        """Close, wait (0.5 s, 1 s, 2 s ...) and reopen a live device; True once it is back."""
        for attempt in range(1, self.reconnect_attempts + 1):
            self.status = f"camera lost ({exc}); reconnecting, attempt {attempt}/{self.reconnect_attempts}"
            try:
                self._close()
            except Exception:  # noqa: BLE001
                pass
            if self._stop.wait(min(0.5 * 2 ** (attempt - 1), 4.0)):
                return False
            try:
                self._open()
            except Exception as reopen_exc:  # noqa: BLE001
                exc = reopen_exc  # report the newest reason in the next status line
                continue
            self.status = "running (reconnected)"
            return True
        return False
