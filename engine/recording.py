"""Recording sessions to disk on a writer thread that never slows the live path.

Why a thread and a bounded queue: lossless PNG encoding and disk writes cost 15-60 ms per 640x480
RGB-D camera frame, more than the live path can spare, and a disk can stall. ``write()`` only puts
the frame on a queue (microseconds); when the writer could not write it within ``max_delay`` the
frame is dropped and counted, never waited for. The writer appends each frame's line to the table
right after its images, and a second thread fsyncs what was written every ``flush_interval``
seconds, so a SIGKILL loses only the queued frames (< 1 s) and a power loss about 1 s. Any write
error (full disk, folder removed, no permission) stops the recording with a one-line ``error``;
``write()`` keeps returning at once, so the live view goes on.
The format is described in ``engine/session.py`` and ``engine/SESSION_FORMAT.md``; what recording costs,
in ``engine.bench.measure_recording_cost``.
"""
from __future__ import annotations

import errno
import json
import os
import queue
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from calibration.intrinsics import CameraIntrinsics
from engine.frames import Frame
from engine.recording_options import RecordingOptions, RecordingStatus
from engine.results import FrameResult
from engine.session import DEPTH_DIR, RGB_DIR, TABLE_FILE, SessionManifest, result_to_json, write_manifest

_WHY = {errno.ENOSPC: "the disk is full", errno.EFBIG: "the file size limit was reached",
        errno.EDQUOT: "the disk quota is exceeded", errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied", errno.EPERM: "permission denied",
        errno.ENOENT: "the folder was removed"}


def _prepare_folder(out_dir: Path) -> None:
    """Create an empty session folder; refuse a non-empty one so nothing recorded is overwritten."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise FileExistsError(f"cannot record into {out_dir}: it exists and is not a folder")
        if any(out_dir.iterdir()):
            raise FileExistsError(f"cannot record into {out_dir}: the folder is not empty "
                                  "(choose a new folder so nothing is overwritten)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / RGB_DIR).mkdir()
        (out_dir / DEPTH_DIR).mkdir()
    except OSError as exc:
        raise OSError(f"cannot record into {out_dir}: {exc.strerror or exc}") from None


class SessionRecorder:
    """Records frames and their predictions into a new session folder ``out_dir``.

    Errors in the folder itself (exists and not empty, cannot be created, not writable) raise
    here, in the caller's thread. Afterwards nothing raises: ``write()`` queues or drops, and a
    failing disk turns ``status().state`` to ``failed`` with a one-line ``error``. ``close()`` writes
    what is queued and completes the manifest. ``source``, ``calibration`` and ``engine`` (e.g. the
    model file and options) go into the manifest as given.

    The recorder keeps references to the frame's arrays until written: don't modify them in place.
    """

    def __init__(self, out_dir: str | Path, options: RecordingOptions | None = None, *, source: str = "",
                 intrinsics: CameraIntrinsics | None = None, calibration: dict | None = None,
                 engine: dict | None = None) -> None:
        import cv2  # noqa: F401 - imported here so the writer starts warm and a broken install fails here

        self.options = options or RecordingOptions()
        self.options.validate()
        self.path = Path(out_dir)
        _prepare_folder(self.path)
        self._manifest = SessionManifest(
            created=datetime.now(UTC).isoformat(timespec="seconds"), source=source,
            intrinsics=intrinsics, rgb_codec=self.options.rgb_codec, vertices=self.options.vertices,
            calibration=calibration, engine=engine)
        try:
            write_manifest(self.path, self._manifest)
            self._table = os.open(self.path / TABLE_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        except OSError as exc:
            raise OSError(f"cannot record into {self.path}: {exc.strerror or exc}") from None
        self._queue: queue.Queue = queue.Queue(self.options.queue_size)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._failed = threading.Event()
        self._error: str | None = None
        self._state = "recording"
        self._written = self._dropped = self._bytes = 0
        self._busy_s = self._sync_s = 0.0
        self._frame_s = 0.0  # the writer's recent seconds per frame (moving average)
        self._seq = 0
        self._last_intrinsics: CameraIntrinsics | None = intrinsics
        self._intrinsics_written = False
        self._unsynced: list[Path] = []
        self._sync_stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="session-writer", daemon=True)
        self._syncer = threading.Thread(target=self._run_syncer, name="session-sync", daemon=True)
        self._thread.start()
        self._syncer.start()

    # -- live path -----------------------------------------------------------------------------
    def write(self, frame: Frame, result: FrameResult | None = None) -> bool:
        """Queue one frame (and its predictions) for writing; never blocks (unless ``wait_for_writer``).
        False when it was not queued: the writer was behind (counted as dropped), the recording
        failed or was closed."""
        if self._closing.is_set() or self._failed.is_set():
            return False
        while self.options.wait_for_writer:
            try:
                self._queue.put((frame, result), timeout=0.1)
                return True
            except queue.Full:
                if self._closing.is_set() or self._failed.is_set():
                    return False
        try:
            if (self._queue.qsize() + 1) * self._frame_s > self.options.max_delay:
                raise queue.Full
            self._queue.put_nowait((frame, result))
        except queue.Full:
            with self._lock:
                self._dropped += 1
            return False
        return True

    @property
    def recording(self) -> bool:
        return not (self._closing.is_set() or self._failed.is_set())

    @property
    def error(self) -> str | None:
        return self._error

    def status(self) -> RecordingStatus:
        with self._lock:
            n = max(1, self._written)
            return RecordingStatus(state=self._state, path=self.path, frames_written=self._written,
                                   frames_dropped=self._dropped, queued=self._queue.qsize(),
                                   bytes_written=self._bytes, writer_ms_per_frame=self._busy_s * 1000.0 / n,
                                   sync_ms_per_frame=self._sync_s * 1000.0 / n, error=self._error)

    def close(self, timeout: float = 30.0) -> RecordingStatus:
        """Write everything queued, fsync, and complete the manifest with a summary."""
        if not self._closing.is_set():
            self._closing.set()
            self._thread.join(timeout)
            self._sync_stop.set()
            self._syncer.join(timeout)
            if not self._thread.is_alive():
                if not self._failed.is_set():
                    self._guarded(self._sync)
                try:
                    os.close(self._table)
                except OSError:
                    pass
            with self._lock:
                if self._thread.is_alive() and not self._error:
                    self._error = (f"recording to {self.path}: the disk did not keep up; "
                                   f"{self._queue.qsize()} queued frames were not written")
                if self._state == "recording":
                    self._state = "closed"
            if not self._thread.is_alive():
                self._finish_manifest()
        return self.status()

    def __enter__(self) -> SessionRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writer thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                item = None
            if item is not None and not self._failed.is_set():
                start = time.perf_counter()
                self._guarded(self._write_frame, *item)
                took = time.perf_counter() - start
                with self._lock:
                    self._busy_s += took
                self._frame_s = took if self._frame_s == 0.0 else 0.8 * self._frame_s + 0.2 * took
            if self._closing.is_set() and (self._queue.empty() or self._failed.is_set()):
                break

    def _run_syncer(self) -> None:
        """fsync on its own thread: waiting for the disk must not hold up encoding."""
        while not self._sync_stop.wait(self.options.flush_interval):
            if self._failed.is_set():
                break
            self._guarded(self._sync)

    def _guarded(self, step, *args) -> None:
        """Run one writer step; an error stops the recording with a one-line reason."""
        try:
            step(*args)
        except Exception as exc:  # noqa: BLE001 - any failure must end as a status, not a dead thread
            self._fail(exc)

    def _fail(self, exc: Exception) -> None:
        filename = getattr(exc, "filename", None)
        where = ""
        if filename:
            path = Path(filename)
            where = f" writing {path.relative_to(self.path) if path.is_relative_to(self.path) else path}"
        why = _WHY.get(getattr(exc, "errno", None)) or getattr(exc, "strerror", None) or str(exc)
        with self._lock:
            self._error = (f"recording to {self.path} stopped{where}: {why}; the {self._written} frames "
                           "written before are kept")
            self._state = "failed"
        self._failed.set()
        while True:  # release the queued frames' memory
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break

    def _write_frame(self, frame: Frame, result: FrameResult | None) -> None:
        import cv2

        seq = self._seq
        line: dict = {"index": int(frame.index), "timestamp": float(frame.timestamp), "rgb": None, "depth": None}
        written = 0
        if frame.rgb is not None:
            bgr = cv2.cvtColor(np.ascontiguousarray(frame.rgb), cv2.COLOR_RGB2BGR)
            if self.options.rgb_codec == "png":
                ok, data = cv2.imencode(".png", bgr, self._png_params())
            else:
                ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, self.options.jpeg_quality])
            if not ok:
                raise ValueError(f"frame {frame.index}: the colour image could not be encoded")
            line["rgb"] = f"{RGB_DIR}/{seq:06d}.{self.options.rgb_codec}"
            written += self._write_file(line["rgb"], data)
        if frame.depth is not None:
            depth = np.ascontiguousarray(frame.depth)
            if depth.dtype != np.uint16 or depth.ndim != 2:
                raise ValueError(f"frame {frame.index}: depth must be HxW uint16 millimetres, "
                                 f"got {depth.dtype} {depth.shape}")
            ok, data = cv2.imencode(".png", depth, self._png_params())
            if not ok:
                raise ValueError(f"frame {frame.index}: the depth image could not be encoded")
            line["depth"] = f"{DEPTH_DIR}/{seq:06d}.png"
            written += self._write_file(line["depth"], data)
        if frame.intrinsics is not None and (not self._intrinsics_written or frame.intrinsics != self._last_intrinsics):
            line["intrinsics"] = frame.intrinsics.to_dict()
            self._last_intrinsics = frame.intrinsics
            self._intrinsics_written = True
        line["result"] = None if result is None else result_to_json(result, self.options.vertices)
        data = (json.dumps(line, separators=(",", ":")) + "\n").encode("utf-8")
        self._write_all(self._table, data, self.path / TABLE_FILE)
        self._seq += 1
        with self._lock:
            self._written += 1
            self._bytes += written + len(data)

    def _png_params(self) -> list[int]:
        """Sub filter + Huffman-only deflate: on noisy camera images (RGB and depth) this encodes
        ~2x faster than zlib's default strategy and still ~10 % smaller (measured here). While frames
        are waiting the writer stores uncompressed PNGs (~5x faster; still lossless) to catch up
        instead of dropping frames."""
        import cv2

        level = 0 if self._queue.qsize() >= 2 else self.options.png_compression
        return [cv2.IMWRITE_PNG_COMPRESSION, level,
                cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB,
                cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY]

    def _write_file(self, name: str, data: np.ndarray) -> int:
        path = self.path / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            self._write_all(fd, data.tobytes(), path)
        finally:
            os.close(fd)
        with self._lock:
            self._unsynced.append(path)
        return int(data.size)

    @staticmethod
    def _write_all(fd: int, data: bytes, path: Path) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(fd, view)
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror, str(path)) from None
            view = view[n:]

    def _sync(self) -> None:
        """Make what was written durable: new images, their folder entries, then the table."""
        if not self.options.fsync:
            return
        start = time.perf_counter()
        with self._lock:
            paths, self._unsynced = self._unsynced, []
        for path in paths:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if paths:
            for folder in (self.path / RGB_DIR, self.path / DEPTH_DIR):
                fd = os.open(folder, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        os.fsync(self._table)
        with self._lock:
            self._sync_s += time.perf_counter() - start

    def _finish_manifest(self) -> None:
        status = self.status()
        self._manifest.summary = {
            "frames_written": status.frames_written, "frames_dropped": status.frames_dropped,
            "bytes_written": status.bytes_written, "writer_ms_per_frame": round(status.writer_ms_per_frame, 3),
            "sync_ms_per_frame": round(status.sync_ms_per_frame, 3),
            "closed": datetime.now(UTC).isoformat(timespec="seconds"), "error": status.error,
        }
        if self._manifest.intrinsics is None:
            self._manifest.intrinsics = self._last_intrinsics
        try:
            write_manifest(self.path, self._manifest)
        except OSError:
            pass  # the manifest written at the start (and every frame) is still there and readable
