"""The session recorder: crash safety (SIGKILL), full disk, unwritable or vanishing folders, no blocking."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from calibration.intrinsics import CameraIntrinsics
from engine.bench import measure_recording_cost
from engine.frames import Frame
from engine.recording import RecordingOptions, SessionRecorder
from engine.results import FrameResult, HandResult
from engine.session import SessionReader

CAM = CameraIntrinsics(fx=150.0, fy=150.0, cx=79.5, cy=59.5, width=160, height=120)
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def make_sample(i: int) -> tuple[Frame, FrameResult]:
    """Frame ``i``: smooth images with a moving square (small PNGs) and one predicted hand."""
    rgb = np.zeros((120, 160, 3), np.uint8)
    rgb[..., 0] = np.arange(160, dtype=np.uint8)[None, :]
    rgb[10:40, (i * 3) % 120:(i * 3) % 120 + 30] = (200, 150, 120)
    depth = np.full((120, 160), 900 + i, np.uint16)
    depth[10:40, (i * 3) % 120:(i * 3) % 120 + 30] = 500
    rng = np.random.default_rng(i)
    hand = HandResult(track_id=1, handedness="right", confidence=0.9, box=(1.0, 2.0, 3.0, 4.0),
                      joints_2d=rng.uniform(0, 160, (21, 2)).astype(np.float32),
                      joints_3d=rng.uniform(-100, 700, (21, 3)).astype(np.float32),
                      theta=rng.normal(size=10).astype(np.float32), beta=rng.normal(size=10).astype(np.float32),
                      camera=rng.normal(size=6).astype(np.float32))
    return (Frame(index=i, timestamp=i / 30.0, rgb=rgb, depth=depth, intrinsics=CAM),
            FrameResult(frame_index=i, timestamp=i / 30.0, hands=[hand]))


def assert_frame_is_sample(reader: SessionReader, pos: int) -> None:
    entry = reader.entries[pos]
    frame, result = make_sample(entry.index)
    got = reader.frame(pos)
    np.testing.assert_array_equal(got.rgb, frame.rgb)
    np.testing.assert_array_equal(got.depth, frame.depth)
    np.testing.assert_allclose(entry.result.hands[0].joints_3d, result.hands[0].joints_3d, atol=1e-4)


def run_child(script: str, *args: str) -> subprocess.Popen:
    """A recording process importing this module (for make_sample), as a separate OS process."""
    prelude = f"import sys; sys.path.insert(0, {str(REPO)!r}); sys.path.insert(0, {str(HERE)!r})\n"
    return subprocess.Popen([sys.executable, "-c", prelude + script, *args], stdout=subprocess.PIPE,
                            text=True, cwd=REPO, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})


SIGKILL_CHILD = """
import time
from engine.recording import SessionRecorder
from test_recording import make_sample
rec = SessionRecorder(sys.argv[1])
i = 0
while True:
    accepted = rec.write(*make_sample(i))  # False: dropped because the writer was behind
    print(i, time.monotonic(), int(accepted), flush=True)
    i += 1
    time.sleep(1 / 30)
"""


def test_sigkill_mid_recording_keeps_every_frame_written_up_to_a_second_before(tmp_path):
    session = tmp_path / "killed"
    child = run_child(SIGKILL_CHILD, str(session))
    written: dict[int, float] = {}
    try:
        for line in child.stdout:
            i, t, accepted = line.split()
            if accepted == "1":
                written[int(i)] = float(t)
            if int(i) >= 45:  # ~1.5 s of recording
                break
        killed_at = time.monotonic()
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    reader = SessionReader(session)
    due = {i for i, t in written.items() if t <= killed_at - 1.0}
    assert len(due) >= 10
    assert due <= {e.index for e in reader.entries}
    for pos in range(len(reader)):
        assert_frame_is_sample(reader, pos)
    assert reader.manifest is not None and reader.manifest.summary is None  # never closed


DISK_FULL_CHILD = """
import json, resource, signal, time
from engine.recording import RecordingOptions, SessionRecorder
from test_recording import make_sample
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large write then fails with EFBIG like a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
rec = SessionRecorder(sys.argv[1], RecordingOptions(queue_size=100))
after_failure, accepted = 0, []
for i in range(60):
    if rec.write(*make_sample(i)):       # the live path: must not raise
        accepted.append(i)
    after_failure += rec.status().state == "failed"
    time.sleep(0.01)
status = rec.close()
print(json.dumps({"state": status.state, "error": status.error, "written": status.frames_written,
                  "after_failure": after_failure, "accepted": accepted}))
"""


def test_full_disk_stops_the_recording_with_a_clear_message_and_keeps_earlier_frames(tmp_path):
    session = tmp_path / "full"
    child = run_child(DISK_FULL_CHILD, str(session))
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0
    report = json.loads(out.strip().splitlines()[-1])
    assert report["state"] == "failed"
    assert report["error"].startswith(f"recording to {session} stopped writing ")
    assert "the file size limit was reached" in report["error"] and "\n" not in report["error"]
    assert report["after_failure"] > 0  # the live loop went on after the failure
    assert 2 <= report["written"] < 60
    reader = SessionReader(session)
    assert [e.index for e in reader.entries] == report["accepted"][:report["written"]]
    for pos in range(len(reader)):
        assert_frame_is_sample(reader, pos)


def test_an_unwritable_or_occupied_folder_raises_a_one_line_error(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(OSError, match=rf"cannot record into {blocker}/session: ") as info:
        SessionRecorder(blocker / "session")
    assert "\n" not in str(info.value)
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="the folder is not empty"):
        SessionRecorder(used)
    assert (used / "notes.txt").read_text() == "keep me"
    with pytest.raises(ValueError, match="rgb_codec"):
        SessionRecorder(tmp_path / "x", RecordingOptions(rgb_codec="gif"))


def test_a_folder_removed_while_recording_fails_cleanly_and_write_keeps_returning(tmp_path):
    session = tmp_path / "gone"
    rec = SessionRecorder(session)
    for i in range(3):
        rec.write(*make_sample(i))
    deadline = time.monotonic() + 5
    while rec.status().frames_written < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    shutil.rmtree(session)
    for i in range(3, 10):
        rec.write(*make_sample(i))
    deadline = time.monotonic() + 5
    while rec.status().state != "failed" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not rec.write(*make_sample(10))  # once failed, write() refuses at once instead of queueing
    status = rec.close()
    assert status.state == "failed" and "the folder was removed" in status.error
    assert status.error.startswith(f"recording to {session} stopped")


def test_write_never_waits_for_a_stalled_writer_and_counts_what_it_dropped(tmp_path):
    rec = SessionRecorder(tmp_path / "s", RecordingOptions(queue_size=3))
    disk_back = threading.Event()
    write_frame = rec._write_frame

    def stalled_disk(frame, result):  # the writer hangs on its first frame, like a stalled disk
        disk_back.wait(10)
        write_frame(frame, result)

    rec._write_frame = stalled_disk
    live_done = threading.Event()

    def live_path() -> None:
        for i in range(40):
            rec.write(*make_sample(i))
        live_done.set()

    threading.Thread(target=live_path, daemon=True).start()
    assert live_done.wait(5), "write() waited for the stalled writer"
    disk_back.set()
    status = rec.close()
    assert 3 <= status.frames_written <= 4  # the frame being written and the queued ones
    assert status.frames_written + status.frames_dropped == 40
    reader = SessionReader(tmp_path / "s")
    assert len(reader) == status.frames_written
    assert reader.manifest.summary["frames_dropped"] == status.frames_dropped
    for pos in range(len(reader)):
        assert_frame_is_sample(reader, pos)  # lossless whether or not compressed
    # while frames were waiting the writer stored uncompressed PNGs to catch up, then compressed again
    sizes = [(tmp_path / "s" / e.rgb_file).stat().st_size for e in reader.entries]
    assert sizes[0] > 160 * 120 * 3 > 4 * sizes[-1]


def test_measure_recording_cost_reports_the_writer_and_live_path_cost(tmp_path):
    cost = measure_recording_cost(tmp_path / "bench", frames=8)
    assert cost.frames == 8 and cost.dropped < 8
    assert cost.writer_ms_per_frame > 0 and cost.bytes_per_frame > 100_000  # noisy 640x480 RGB-D
    assert cost.write_call_us < cost.writer_ms_per_frame * 1000  # the live path pays far less
    assert len(SessionReader(tmp_path / "bench")) == 8 - cost.dropped


def test_wait_for_writer_records_every_frame_of_a_source_that_is_not_live(tmp_path):
    rec = SessionRecorder(tmp_path / "s", RecordingOptions(queue_size=2, wait_for_writer=True))
    assert all(rec.write(*make_sample(i)) for i in range(20))
    status = rec.close()
    assert (status.frames_written, status.frames_dropped) == (20, 0)
    assert [e.index for e in SessionReader(tmp_path / "s").entries] == list(range(20))


def test_the_live_pipeline_goes_on_when_the_recording_fails(tmp_path, tiny_cadstn):
    import torch

    from engine.demo import DemoSource
    from engine.pipeline import Pipeline
    from engine.stream import EngineOptions, StreamingEngine

    torch.set_num_threads(1)
    session = tmp_path / "s"
    rec = SessionRecorder(session)
    seen = []

    def on_result(frame, result) -> None:
        seen.append(frame.index)
        if len(seen) == 5:
            session.rename(tmp_path / "elsewhere")  # the recording's folder vanishes (USB disk unplugged)
        rec.write(frame, result)

    with StreamingEngine(EngineOptions(model="cadstn", model_path=tiny_cadstn, detector="depth")) as engine:
        pipeline = Pipeline(DemoSource(realtime=False, loop=False, kind="depth", seconds=1.0), engine, on_result)
        pipeline.start()
        assert pipeline.wait(60)
        pipeline.stop()
    status = rec.close()
    assert seen == list(range(30)) and pipeline.error is None
    assert status.state == "failed" and "the folder was removed" in status.error
