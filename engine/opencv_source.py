"""A webcam or a video file, read through OpenCV on a capture thread (``engine.capture.CaptureSource``)."""
from __future__ import annotations

import time
from pathlib import Path

from calibration.intrinsics import CameraIntrinsics, webcam_intrinsics
from engine.capture import CaptureSource
from engine.frames import Frame


class OpenCVSource(CaptureSource):
    """A webcam (``device`` is an int index) or a video file (a path) read through OpenCV."""

    def __init__(self, device: int | str | Path, *, realtime: bool = True, loop: bool = False,
                 intrinsics: CameraIntrinsics | None = None, queue_size: int = 2) -> None:
        self.live = isinstance(device, int)
        name = f"webcam {device}" if self.live else Path(device).name
        super().__init__(name, realtime=realtime or self.live, queue_size=queue_size)
        self.device = device
        self.loop = loop
        self._given_intrinsics = intrinsics
        self._cap = None
        self._fps = 30.0

    def _open(self) -> None:
        import cv2

        if not self.live and not Path(self.device).is_file():
            raise FileNotFoundError(f"video file {self.device} does not exist")
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # our one-line error says it all
        try:
            cap = cv2.VideoCapture(self.device if self.live else str(self.device))
        finally:
            cv2.utils.logging.setLogLevel(level)
        if not cap.isOpened():
            cap.release()
            what = f"webcam {self.device} cannot be opened (not connected or busy)" if self.live \
                else f"video file {self.device} cannot be decoded"
            raise OSError(what)
        if self.live:
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the driver's own queue would add latency
        self._fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        self._expected = 0 if self.live else int(cap.get(cv2.CAP_PROP_FRAME_COUNT))  # what the header promises
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.intrinsics = self._given_intrinsics or webcam_intrinsics(w, h)
        self._cap = cap

    def _grab(self) -> Frame | None:
        import cv2

        ok, bgr = self._cap.read()
        if not ok:
            if self.live:
                raise OSError(f"webcam {self.device} stopped delivering frames")
            read = int(self._cap.get(cv2.CAP_PROP_POS_FRAMES))
            if 0 < read < self._expected - max(2, 0.02 * self._expected):  # ends well before its header says
                raise OSError(f"video file {self.device} is damaged: it stops after frame {read} of "
                              f"{self._expected}")
            if self.loop and self._next_index > 0:
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                self._pace_origin = None
                ok, bgr = self._cap.read()
            if not ok:
                return None
        if self.live:
            timestamp = time.monotonic()
        else:
            timestamp = self._next_index / self._fps
            self._pace(timestamp)
        return self._make_frame(timestamp, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), None)

    def _close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
