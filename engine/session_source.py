"""A recorded session replayed as a capture source (``engine.capture.CaptureSource``): real time like a
camera, or losslessly as fast as the consumer reads."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from engine.capture import CaptureSource
from engine.frames import Frame
from engine.session import SessionReader, log


class SessionSource(CaptureSource):
    """Replays a recorded session like a camera: in real time (paced by the recorded timestamps,
    dropping frames for a slow consumer) or, with ``realtime=False``, as fast as the consumer reads
    and losslessly, so the same model sees exactly the recorded frame sequence.

    In real time, when decoding falls a frame behind, frames are skipped (``skipped``, included in
    ``dropped``) so the replay stays in time like a camera. Frames keep their recorded ``index``
    and ``timestamp``; with ``loop`` each further pass continues both so they keep increasing
    (trackers and MediaPipe's video mode require that). A frame whose image is missing or corrupt
    is skipped, listed in ``problems`` and logged as a warning naming the file.
    """

    def __init__(self, path: str | Path, *, realtime: bool = True, loop: bool = False,
                 queue_size: int = 2) -> None:
        self.path = Path(path)
        super().__init__(self.path.name or str(self.path), realtime=realtime, queue_size=queue_size)
        self.loop = loop
        self.reader: SessionReader | None = None
        self.problems: list[str] = []
        self._position = 0
        self._passes = 0
        self.skipped = 0

    def _open(self) -> None:
        if self.reader is None:
            self.reader = SessionReader(self.path)
            self.problems = list(self.reader.problems)
        self.intrinsics = self.reader.intrinsics

    def _grab(self) -> Frame | None:
        reader = self.reader
        while not self._stop.is_set():
            if self._position >= len(reader):
                if not self.loop or len(reader) == 0:
                    return None
                self._position = 0
                self._passes += 1
            i = self._position
            self._position += 1
            index_shift, time_shift = self._pass_shift()
            if i + 1 < len(reader) and self._is_due(reader.entries[i + 1].timestamp + time_shift):
                self.skipped += 1  # decoding fell a frame behind real time: skip like a camera would
                continue
            try:
                frame = reader.frame(i)
            except (OSError, ValueError) as exc:
                self.problems.append(str(exc))
                log.warning("%s; frame skipped", exc)
                continue
            frame.index += index_shift
            frame.timestamp += time_shift
            if self.realtime:
                self._pace(frame.timestamp)
            frame.captured_at = time.monotonic()
            if frame.intrinsics is not None:
                self.intrinsics = frame.intrinsics
            return frame
        return None

    @property
    def dropped(self) -> int:
        """Frames not delivered because the consumer or, in real time, decoding was too slow."""
        return super().dropped + self.skipped

    def _is_due(self, timestamp: float) -> bool:
        """In real time: has the wall-clock moment for the frame at ``timestamp`` already passed?"""
        if not self.realtime or self._pace_origin is None:
            return False
        media0, wall0 = self._pace_origin
        return time.monotonic() > wall0 + (timestamp - media0)

    def _pass_shift(self) -> tuple[int, float]:
        """How far this pass's indices and timestamps are moved: per pass, the session's span plus
        one frame."""
        if self._passes == 0:
            return 0, 0.0
        entries = self.reader.entries
        steps = np.diff([e.timestamp for e in entries])
        step = float(np.median(steps)) if len(steps) else 1.0 / 30.0
        return (self._passes * (entries[-1].index - entries[0].index + 1),
                self._passes * (entries[-1].timestamp - entries[0].timestamp + step))
