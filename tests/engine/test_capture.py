"""Capture sources: newest-frame queue, drops, shutdown, files, RealSense playback, failures."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from engine.capture import CaptureSource, NewestFrameQueue
from engine.frames import Frame
from engine.sources import open_source


def _frame(i: int) -> Frame:
    return Frame(index=i, timestamp=i / 30.0)


def test_newest_frame_queue_drops_oldest_instead_of_blocking():
    q = NewestFrameQueue(maxsize=2)
    start = time.monotonic()
    for i in range(6):
        q.put(_frame(i))
    assert time.monotonic() - start < 0.1
    assert q.dropped == 4
    assert [q.get(0.1).index, q.get(0.1).index] == [4, 5]
    assert q.get(0.05) is None


class _FastCamera(CaptureSource):
    """A live 100 fps camera of tiny frames (the real thread and queue, no rendering cost)."""

    live = True

    def __init__(self) -> None:
        super().__init__("fast", realtime=True)

    def _open(self) -> None:
        pass

    def _grab(self):
        time.sleep(0.01)
        return self._make_frame(time.monotonic(), np.zeros((4, 4, 3), np.uint8), None)


def test_a_live_source_drops_frames_for_a_slow_consumer_and_keeps_them_recent():
    source = _FastCamera()
    source.start()
    try:
        indices = []
        for _ in range(4):
            frame = source.read(timeout=1.0)
            indices.append(frame.index)
            time.sleep(0.2)  # much slower than the camera
        assert source.dropped > 0
        assert min(np.diff(indices)) > 2  # the consumer always gets recent frames, not a backlog
    finally:
        source.stop()


def test_fast_playback_is_lossless_and_in_order():
    from engine.demo import DemoSource

    source = DemoSource(realtime=False, loop=False, seconds=1.0)
    source.start()
    indices = []
    while not source.finished:
        frame = source.read(timeout=1.0)
        if frame is not None:
            indices.append(frame.index)
            assert frame.rgb.shape == (480, 640, 3) and frame.depth.dtype == np.uint16
    source.stop()
    assert indices == list(range(30))
    assert source.dropped == 0


def test_stop_returns_within_a_second_even_when_nobody_reads():
    from engine.demo import DemoSource

    for source in (_FastCamera(), DemoSource(realtime=False, seconds=0.5)):
        source.start()
        time.sleep(0.3)  # the lossless demo is now blocked on a full queue
        start = time.monotonic()
        source.stop()
        assert time.monotonic() - start < 1.0
        assert not any(t.name == f"capture-{source.name}" and t.is_alive() for t in threading.enumerate())


def test_video_file_frames_arrive_in_rgb_order(tmp_path):
    import cv2

    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (64, 48))
    for i in range(12):
        bgr = np.zeros((48, 64, 3), np.uint8)
        bgr[..., 2] = 200  # red in BGR
        bgr[..., 1] = i * 10
        writer.write(bgr)
    writer.release()
    source = open_source(str(path), realtime=False)
    source.start()
    frames = []
    while not source.finished:
        frame = source.read(timeout=1.0)
        if frame is not None:
            frames.append(frame)
    source.stop()
    assert len(frames) == 12
    assert frames[0].rgb[..., 0].mean() > 150 and frames[0].rgb[..., 2].mean() < 50
    assert frames[-1].rgb[..., 1].mean() > frames[0].rgb[..., 1].mean() + 50
    assert source.intrinsics.width == 64 and frames[3].timestamp == pytest.approx(3 / 30.0)


def test_bad_sources_are_one_line_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.mp4"):
        open_source(str(tmp_path / "nowhere.mp4"))
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="unsupported file type"):
        open_source(str(tmp_path / "notes.txt"))
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 10)
    source = open_source(str(broken))
    with pytest.raises(OSError, match="broken.mp4"):
        source.start()
    with pytest.raises(FileNotFoundError, match="neither a recorded session nor holds images"):
        open_source(str(tmp_path))


def test_depth_sources_default_to_the_depth_model():
    from engine.sources import default_model

    assert default_model("realsense") == "cadstn"
    assert default_model("session.DB3") == default_model("~/walk.bag") == "cadstn"
    assert default_model("demo") == default_model("0") == default_model("clip.mp4") == "lifter"


def test_realsense_recording_plays_back_with_its_intrinsics_and_aligned_streams(tmp_path, record_realsense):
    depth = [np.full((48, 64), 500 + i, np.uint16) for i in range(8)]
    rgb = [np.full((48, 64, 3), (i * 20, 0, 255 - i * 20), np.uint8) for i in range(8)]
    path = record_realsense(tmp_path / "clip.db3", depth, rgb, fx=50.0, fy=51.0)
    source = open_source(str(path), realtime=False)
    source.start()
    frames = []
    while not source.finished:
        frame = source.read(timeout=2.0)
        if frame is not None:
            frames.append(frame)
    source.stop()
    assert (source.intrinsics.fx, source.intrinsics.fy, source.intrinsics.width) == (50.0, 51.0, 64)
    assert len(frames) >= 7  # the first frameset may be dropped by playback
    for frame in frames:
        i = int(frame.depth[24, 32]) - 500  # depth is millimetres; colour belongs to the same instant
        assert 0 <= i < 8
        assert tuple(frame.rgb[24, 32]) == (i * 20, 0, 255 - i * 20)


class _FlakyCamera(CaptureSource):
    """A live source whose device vanishes after a few frames and never comes back."""

    live = True

    def __init__(self, fail_after: int, reopen_ok: bool) -> None:
        super().__init__("flaky", realtime=True, reconnect_attempts=2)
        self.fail_after, self.reopen_ok, self.opens = fail_after, reopen_ok, 0

    def _open(self) -> None:
        self.opens += 1
        if self.opens > 1 and not self.reopen_ok:
            raise OSError("device unplugged")

    def _grab(self):
        time.sleep(0.01)
        if self._next_index >= self.fail_after and self.opens == 1:
            raise OSError("USB read failed")
        return self._make_frame(time.monotonic(), np.zeros((4, 4, 3), np.uint8), None)


def test_a_camera_that_disappears_reports_reconnection_then_a_clear_error():
    source = _FlakyCamera(fail_after=5, reopen_ok=False)
    source.start()
    seen_status = set()
    got = 0
    deadline = time.monotonic() + 5.0
    while not source.finished and time.monotonic() < deadline:
        seen_status.add(source.status.split(";")[0])
        got += source.read(timeout=0.05) is not None
    source.stop()
    assert got == 5
    assert any("camera lost" in s for s in seen_status)
    assert source.finished and "USB read failed" in source.error and "reconnection attempts" in source.error


def test_a_camera_that_comes_back_keeps_delivering():
    source = _FlakyCamera(fail_after=3, reopen_ok=True)
    source.start()
    got = []
    deadline = time.monotonic() + 3.0
    while len(got) < 8 and time.monotonic() < deadline:
        frame = source.read(timeout=0.1)
        if frame is not None:
            got.append(frame.index)
    source.stop()
    assert len(got) == 8 and source.opens == 2 and source.error is None
