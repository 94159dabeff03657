"""What a session recording is asked to do (``RecordingOptions``) and what it reports (``RecordingStatus``);
the recorder itself is ``engine.recording.SessionRecorder``."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.session import RGB_CODECS


@dataclass
class RecordingOptions:
    """How frames are stored and when they are dropped.

    ``rgb_codec`` ``png`` is lossless, so a replay feeds an RGB model exactly the recorded pixels and
    reproduces its predictions; ``jpg`` encodes a noisy 640x480 camera image >10x faster and ~7x
    smaller but lossy (SeqHAND-Net's replayed predictions then differ slightly; CADSTN reads only
    depth). Depth is always lossless 16-bit PNG. ``png_compression`` 0 stores PNGs uncompressed:
    fastest, ~1.5 MB per RGB-D frame; the writer does so by itself while frames are waiting.

    A frame is dropped instead of queued when ``queue_size`` frames wait already or when the
    writer, at its recent speed, would not write it within ``max_delay`` seconds, so a crash loses
    at most about that much. ``wait_for_writer`` waits for the writer
    instead (for sources that are not live, e.g. a file processed as fast as possible, where a
    dropped frame would be a hole for no reason). ``vertices`` also stores each hand's mesh
    vertices (about 12 KB per hand and frame)."""

    rgb_codec: str = "png"
    jpeg_quality: int = 95
    png_compression: int = 1
    vertices: bool = False
    queue_size: int = 30
    max_delay: float = 0.75
    wait_for_writer: bool = False
    flush_interval: float = 0.5
    fsync: bool = True

    def validate(self) -> None:
        if self.rgb_codec not in RGB_CODECS:
            raise ValueError(f"recording rgb_codec must be one of {', '.join(RGB_CODECS)}, got {self.rgb_codec!r}")
        if not 0 <= self.jpeg_quality <= 100:
            raise ValueError(f"recording jpeg_quality must be 0-100, got {self.jpeg_quality}")
        if not 0 <= self.png_compression <= 9:
            raise ValueError(f"recording png_compression must be 0-9, got {self.png_compression}")
        if self.queue_size < 1:
            raise ValueError(f"recording queue_size must be at least 1, got {self.queue_size}")
        if not 0 < self.max_delay <= 1.0:
            raise ValueError(f"recording max_delay must be in (0, 1] seconds, got {self.max_delay}")
        if not 0 < self.flush_interval <= 1.0:
            raise ValueError(f"recording flush_interval must be in (0, 1] seconds, got {self.flush_interval}")


@dataclass
class RecordingStatus:
    """A snapshot for a status line. ``state`` is ``recording``, ``failed`` (``error`` says why; what
    was written before stays readable) or ``closed``. ``writer_ms_per_frame`` is the writer thread's
    busy time per written frame (encoding, writing); ``sync_ms_per_frame`` the fsync thread's time per
    frame (waiting for the disk, hardly any CPU)."""

    state: str
    path: Path
    frames_written: int
    frames_dropped: int
    queued: int
    bytes_written: int
    writer_ms_per_frame: float
    sync_ms_per_frame: float = 0.0
    error: str | None = None

    def message(self) -> str:
        """One line for a status bar."""
        if self.error:
            return self.error
        drops = f", {self.frames_dropped} dropped" if self.frames_dropped else ""
        return (f"{self.state}: {self.frames_written} frames, {self.bytes_written / 1e6:.1f} MB{drops} "
                f"→ {self.path}")
