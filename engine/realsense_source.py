"""An Intel RealSense camera or a ``.bag``/``.db3`` recording, read through pyrealsense2 on a capture
thread (``engine.capture.CaptureSource``)."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from calibration.intrinsics import CameraIntrinsics
from engine.capture import CaptureSource
from engine.frames import Frame


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
