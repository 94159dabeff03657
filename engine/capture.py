"""Capture sources: one thread per camera or file, handing the newest frames to whoever processes them.

Why a thread and a tiny queue: a live camera never waits for the engine. When processing is slower
than the camera, the oldest queued frame is dropped (and counted) so the engine always works on a
recent image and latency never grows. Files played "as fast as possible" (``realtime=False``) are
the exception: nothing is dropped there, so two runs over the same recording give the same results.

Every source has ``start()``, ``read(timeout)``, ``stop()`` (returns within 1 s) and the attributes
``name``, ``intrinsics``, ``dropped``, ``finished``, ``status`` and ``error``.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path

import numpy as np

from calibration.intrinsics import CameraIntrinsics, webcam_intrinsics
from engine.frames import Frame

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
REALSENSE_SUFFIXES = (".bag", ".db3")
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

    def __enter__(self) -> "CaptureSource":
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
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.intrinsics = self._given_intrinsics or webcam_intrinsics(w, h)
        self._cap = cap

    def _grab(self) -> Frame | None:
        import cv2

        ok, bgr = self._cap.read()
        if not ok:
            if self.live:
                raise OSError(f"webcam {self.device} stopped delivering frames")
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


class RealSenseSource(CaptureSource):
    """An Intel RealSense camera (``path`` None) or a ``.bag``/``.db3`` recording, via pyrealsense2.

    Colour and depth are aligned to the colour camera when both exist (``align_to_color``) and the
    intrinsics are the device's own, read from the stream profile. Depth is delivered in millimetres.
    """

    def __init__(self, path: str | Path | None = None, *, realtime: bool = True, width: int = 640,
                 height: int = 480, fps: int = 30, align_to_color: bool = True,
                 queue_size: int = 2) -> None:
        self.live = path is None
        self.path = None if path is None else Path(path)
        name = "realsense" if self.live else self.path.name
        super().__init__(name, realtime=realtime or self.live, queue_size=queue_size)
        self.width, self.height, self.fps = width, height, fps
        self.align_to_color = align_to_color
        self._pipe = None
        self._align = None
        self._depth_to_mm = 1.0
        self._has_color = self._has_depth = False
        self._last_frame_number: int | None = None
        self._silent = 0  # consecutive 200 ms waits without a frame from a live camera

    def _open(self) -> None:
        import pyrealsense2 as rs

        if self.path is not None and not self.path.is_file():
            raise FileNotFoundError(f"RealSense recording {self.path} does not exist")
        ctx = rs.context()
        cfg = rs.config()
        pipe = rs.pipeline(ctx)
        if self.path is not None:
            cfg.enable_device_from_file(str(self.path), repeat_playback=False)
            try:
                profile = cfg.resolve(rs.pipeline_wrapper(pipe))
                profile.get_device().as_playback().set_real_time(self.realtime)
            except RuntimeError as exc:
                raise OSError(f"RealSense recording {self.path} cannot be read: {exc}") from None
        else:
            if len(ctx.query_devices()) == 0:
                raise OSError("no RealSense camera is connected")
            cfg.enable_stream(rs.stream.color, self.width, self.height, rs.format.rgb8, self.fps)
            cfg.enable_stream(rs.stream.depth, self.width, self.height, rs.format.z16, self.fps)
        try:
            profile = pipe.start(cfg)
        except RuntimeError as exc:
            what = f"RealSense recording {self.path}" if self.path else "RealSense camera"
            raise OSError(f"{what} cannot be started: {exc}") from None
        if self.path is not None:
            profile.get_device().as_playback().set_real_time(self.realtime)
        streams = {s.stream_type(): s.as_video_stream_profile() for s in profile.get_streams()
                   if s.is_video_stream_profile()}
        self._has_color = rs.stream.color in streams
        self._has_depth = rs.stream.depth in streams
        if not (self._has_color or self._has_depth):
            pipe.stop()
            raise OSError(f"{self.name} has neither a colour nor a depth stream")
        self._depth_to_mm = 1.0
        if self._has_depth:
            sensor = profile.get_device().first_depth_sensor()
            try:
                self._depth_to_mm = sensor.get_depth_scale() * 1000.0
            except RuntimeError:
                self._depth_to_mm = 1.0
        use_color = self._has_color and (self.align_to_color or not self._has_depth)
        ref = streams[rs.stream.color if use_color else rs.stream.depth]
        i = ref.get_intrinsics()
        self.intrinsics = CameraIntrinsics(fx=i.fx, fy=i.fy, cx=i.ppx, cy=i.ppy, width=i.width,
                                           height=i.height, distortion=tuple(float(c) for c in i.coeffs))
        self._align = rs.align(rs.stream.color) if (self._has_color and self._has_depth
                                                     and self.align_to_color) else None
        self._pipe = pipe

    def _grab(self) -> Frame | None:
        import pyrealsense2 as rs

        while not self._stop.is_set():
            ok, frames = self._pipe.try_wait_for_frames(200)
            if not ok:
                if self.live:
                    # A camera that stays silent for 2 s is treated as unplugged.
                    self._silent += 1
                    if self._silent >= 10:
                        self._silent = 0
                        raise OSError("RealSense camera stopped delivering frames")
                    continue
                return None  # playback reached the end of the recording
            self._silent = 0
            if self._align is not None:
                frames = self._align.process(frames)
            number = frames.get_frame_number()
            if number == self._last_frame_number:
                continue
            self._last_frame_number = number
            rgb = depth = None
            if self._has_color:
                color = frames.get_color_frame()
                if color:
                    rgb = np.asanyarray(color.get_data()).copy()
                    if color.get_profile().format() == rs.format.bgr8:
                        rgb = rgb[..., ::-1].copy()
            if self._has_depth:
                d = frames.get_depth_frame()
                if d:
                    depth = np.asanyarray(d.get_data())
                    depth = (depth if self._depth_to_mm == 1.0 else
                             np.round(depth * self._depth_to_mm).clip(0, 65535)).astype(np.uint16)
            if rgb is None and depth is None:
                continue
            timestamp = time.monotonic() if self.live else frames.get_timestamp() / 1000.0
            return self._make_frame(timestamp, rgb, depth)
        return None

    def _close(self) -> None:
        if self._pipe is not None:
            try:
                self._pipe.stop()
            finally:
                self._pipe = None


def default_model(spec: str) -> str:
    """The model a source calls for when none is named: CADSTN (depth) for a RealSense camera or
    recording, SeqHAND-Net (colour) for everything else."""
    spec = str(spec).strip()
    return "cadstn" if spec == "realsense" or Path(spec).suffix.lower() in REALSENSE_SUFFIXES else "seqhand"


def default_detector(spec: str, detector: str = "auto") -> str:
    """The hand detector for a source: ``auto`` on the built-in demo means its depth (aligned, exact, and
    ~25 ms cheaper than MediaPipe on a rendered hand); anything else is left to the engine."""
    return "depth" if detector == "auto" and str(spec).strip() == "demo" else detector


def open_source(spec: str, *, realtime: bool = True, loop: bool | None = None,
                intrinsics: CameraIntrinsics | None = None, queue_size: int = 2,
                demo_kind: str = "rgbd") -> CaptureSource:
    """A capture source for ``spec`` (not yet started).

    ``spec`` is ``demo`` (built-in synthetic hand), a webcam index (``0``), a video file,
    ``realsense`` (live camera, colour + aligned depth), a ``.bag``/``.db3`` RealSense recording, or
    a session folder written by ``handstream run --record``. ``realtime=False`` plays files and
    recordings as fast as the consumer reads them, losslessly. ``loop`` repeats finite sources
    (default: only the demo loops). ``intrinsics`` overrides the source's own (e.g. a calibration).
    """
    spec = str(spec).strip()
    if not spec:
        raise ValueError("--source is empty: give demo, a webcam index, a video file, realsense, "
                         "a .bag/.db3 recording or a session folder")
    if spec == "demo":
        from engine.demo import DemoSource

        return DemoSource(realtime=realtime, loop=True if loop is None else loop, kind=demo_kind,
                          queue_size=queue_size)
    if spec.isdigit():
        return OpenCVSource(int(spec), intrinsics=intrinsics, queue_size=queue_size)
    if spec == "realsense":
        return RealSenseSource(None, realtime=True, queue_size=queue_size)
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "manifest.json").is_file():
            raise FileNotFoundError(f"source folder {path} is not a recorded session (no manifest.json)")
        from engine.session import SessionSource

        return SessionSource(path, realtime=realtime)
    if not path.exists():
        raise FileNotFoundError(f"source {spec} does not exist (expected demo, a webcam index, a video "
                                "file, realsense, a .bag/.db3 recording or a session folder)")
    suffix = path.suffix.lower()
    if suffix in REALSENSE_SUFFIXES:
        return RealSenseSource(path, realtime=realtime, queue_size=queue_size)
    if suffix in VIDEO_SUFFIXES:
        return OpenCVSource(path, realtime=realtime, loop=bool(loop), intrinsics=intrinsics,
                            queue_size=queue_size)
    raise ValueError(f"source {spec}: unsupported file type '{suffix}' (video: "
                     f"{', '.join(VIDEO_SUFFIXES)}; RealSense: .bag, .db3)")
