"""Measuring the live path: per-stage latency (median, p95), end-to-end fps and memory over a run.

Why a function and not a test: speed depends on the machine and its load, so it is measured and
reported (``handstream bench``), never asserted. The source is played losslessly as fast as the
engine takes frames (``realtime=False``), so fps is what the engine sustains end to end, thread
hand-offs included, with the detector inline (a background detector cannot keep up with an unpaced
source, so its effect shows only live: ``handstream run``) or, where a detector runs on every frame, a
frame ahead on its own thread as in every run (``engine.ahead``; ``detect_ahead=False``: one thread).
Engine overhead is the engine's total minus detection and inference. ``measure_recording_cost``: what
recording a session costs the live path and the disk (``handstream bench record``).
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.frames import Frame
from engine.pipeline import StageStats
from engine.recording_options import RecordingOptions
from engine.results import FrameResult

STAGES = ("capture", "detect", "crop", "inference", "hand_model", "overhead", "total")


@dataclass
class BenchResult:
    """One model on one execution provider: stage statistics in ms, fps, hands seen, memory in MB."""

    model: str
    provider: str
    source: str
    frames: int = 0
    fps: float = 0.0
    stages: dict[str, StageStats] = field(default_factory=dict)
    hands_per_frame: float = 0.0
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    error: str | None = None
    host: str = ""  # the CPU measured on: the same files ran 2-3x faster on an AVX-512 host than on an AVX2 one


def host_cpu(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """'<CPU model>, <n> cores, <widest vector unit>' from Linux's cpuinfo (the core count alone elsewhere), with the
    half-precision units that change the figures: bfloat16 (training) and fp16 (MediaPipe's networks)."""
    name, flags = "", set()
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and not name:
                name = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else ""
    halves = [unit for unit, present in (("bfloat16", {"avx512_bf16", "amx_tile"} & flags),
                                         ("FP16", "avx512_fp16" in flags)) if present]
    if vector == "AVX-512" and halves:
        vector += " with " + " and ".join(halves)
    return ", ".join(part for part in (name, f"{os.cpu_count()} cores", vector) if part)


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


MEDIAPIPE = "mediapipe"  # bench_engine's reference row: MediaPipe Hands alone, no model of ours


class MediaPipeAlone:
    """MediaPipe Hands alone (its HandLandmarker in VIDEO mode) behind the engine's ``process``/``close``, so the same
    pipeline measures it: the reference the RGB path's speed is held to."""

    def __init__(self, max_hands: int = 2) -> None:
        from models.mediapipe_hands import MediaPipeHands

        self.detector = MediaPipeHands(max_hands=max_hands)

    def process(self, frame: Frame) -> FrameResult:
        from engine.results import HandResult, StageTimings

        start = time.perf_counter()
        found = self.detector.detect(frame.rgb, frame.timestamp)
        hands = [HandResult(track_id=i, handedness=d.handedness, confidence=d.score, box=(0.0, 0.0, 0.0, 0.0),
                            joints_2d=d.landmarks.astype(np.float32),
                            joints_3d=(d.world * 1000.0).astype(np.float32)) for i, d in enumerate(found)]
        ms = (time.perf_counter() - start) * 1000.0
        return FrameResult(frame_index=frame.index, timestamp=frame.timestamp, hands=hands,
                           timings=StageTimings(detect_ms=ms, total_ms=ms))

    def close(self) -> None:
        self.detector.close()


def bench_engine(model: str, provider: str, *, source: str = "demo", frames: int = 300, warmup: int = 30,
                 model_path: Path | None = None, detector: str = "auto", threads: int = 1,
                 vertices: bool = True, detect_ahead: bool = True, max_hands: int = 2,
                 placer: bool = True) -> BenchResult:
    """Run ``frames`` frames (after ``warmup``) of ``source`` through the pipeline and measure them.

    A missing model file or source does not raise: the result's ``error`` says so in one line.
    """
    from engine.pipeline import Pipeline
    from engine.sources import live_engine_options, open_source
    from engine.stream import StreamingEngine

    result = BenchResult(model=model, provider=provider, source=source, host=host_cpu())
    try:
        engine = MediaPipeAlone(max_hands) if model == MEDIAPIPE else StreamingEngine(live_engine_options(
            source, model, model_path, detector, providers=(provider,), threads=threads, vertices=vertices,
            detect_ahead=detect_ahead, max_hands=max_hands, depth_placer=placer))
    except (OSError, ValueError) as exc:
        result.error = str(exc)
        return result
    rows: list[tuple[float, ...]] = []
    stamps: list[float] = []
    hands: list[int] = []
    lock = threading.Lock()

    def on_result(frame, res) -> None:
        t = res.timings
        with lock:
            stamps.append(time.perf_counter())
            hands.append(len(res.hands))
            rows.append((t.capture_ms, t.detect_ms, t.crop_ms, t.inference_ms, t.hand_model_ms,
                         t.total_ms - t.detect_ms - t.inference_ms, t.total_ms))
            if len(rows) == warmup:
                result.rss_start_mb = rss_mb()

    try:
        if source == "demo":
            from engine.demo import prerender

            prerender()
        src = open_source(source, realtime=False, loop=True)
        pipeline = Pipeline(src, engine, on_result, max_frames=frames + warmup)
        pipeline.start()
        pipeline.wait()
        pipeline.stop()
        error = pipeline.error or src.error
    except (OSError, ValueError) as exc:
        error = str(exc)
    finally:
        engine.close()
    result.rss_end_mb = rss_mb()
    measured = np.array(rows[warmup:], np.float64)
    if error and len(measured) == 0:
        result.error = error
        return result
    if len(measured) < 2:
        result.error = f"source {source} gave only {len(rows)} frames"
        return result
    t = stamps[warmup:]
    result.frames = len(measured)
    result.fps = (len(t) - 1) / (t[-1] - t[0]) if t[-1] > t[0] else 0.0
    result.hands_per_frame = float(np.mean(hands[warmup:]))
    result.stages = {name: StageStats(float(np.median(measured[:, i])), float(np.percentile(measured[:, i], 95)))
                     for i, name in enumerate(STAGES)}
    return result


def format_table(results: list[BenchResult]) -> str:
    """A plain-text table: the host, then one block per model and provider, stages as rows."""
    lines = [f"host: {host}" for host in dict.fromkeys(r.host for r in results if r.host)]
    for r in results:
        head = f"{r.model} on {r.provider} ({r.source})"
        if r.error:
            lines.append(f"{head}: {r.error}")
            continue
        lines.append(f"{head}: {r.frames} frames, {r.fps:.1f} fps end to end, "
                     f"{r.hands_per_frame:.2f} hands/frame, memory {r.rss_start_mb:.0f} -> {r.rss_end_mb:.0f} MB")
        lines.append(f"  {'stage':<11} {'median ms':>10} {'p95 ms':>10}")
        for name in STAGES:
            s = r.stages[name]
            lines.append(f"  {name:<11} {s.median_ms:>10.2f} {s.p95_ms:>10.2f}")
    return "\n".join(lines)


@dataclass
class RecordingCost:
    """What recording costs per frame: ``write_call_us`` on the live path (median of ``write()``),
    ``writer_ms_per_frame`` on the writer thread (CPU), ``sync_ms_per_frame`` on the fsync thread (mostly
    waiting for the disk), ``bytes_per_frame`` on disk, and frames dropped."""

    frames: int
    rgb_codec: str
    write_call_us: float
    writer_ms_per_frame: float
    sync_ms_per_frame: float
    bytes_per_frame: float
    dropped: int


def measure_recording_cost(out_dir: str | Path, frames: int = 60, options: RecordingOptions | None = None,
                           fps: float = 30.0) -> RecordingCost:
    """Record ``frames`` 640x480 RGB-D demo frames (with camera-like noise) and one predicted hand into
    the new folder ``out_dir`` at ``fps`` (0 = as fast as possible) and measure the cost; for
    ``handstream bench``."""
    from engine.demo import DEMO_INTRINSICS, demo_truth, render_demo_frame
    from engine.recording import SessionRecorder
    from engine.results import HandResult

    options = options or RecordingOptions()
    rng = np.random.default_rng(0)
    images = []
    for t in range(0, 60, 6):  # sensor-like noise: clean renders compress far better than camera images
        rgb, depth = render_demo_frame(t / 30.0)
        images.append((np.clip(rgb + rng.normal(0.0, 3.0, rgb.shape), 0, 255).astype(np.uint8),
                       (depth + rng.integers(-3, 4, depth.shape) * (depth > 0)).astype(np.uint16)))
    recorder = SessionRecorder(out_dir, options, source="demo (measure_recording_cost)", intrinsics=DEMO_INTRINSICS)
    calls = []
    start = time.monotonic()
    for i in range(frames):
        rgb, depth = images[i % len(images)]
        hand = HandResult(track_id=1, handedness="right", confidence=0.9, box=(200.0, 120.0, 420.0, 340.0),
                          joints_2d=rng.uniform(200, 400, (21, 2)).astype(np.float32),
                          joints_3d=rng.uniform(-80, 600, (21, 3)).astype(np.float32),
                          vertices=rng.uniform(-80, 600, demo_truth().vertices[0].shape).astype(np.float32),
                          theta=rng.normal(size=10).astype(np.float32), beta=rng.normal(size=10).astype(np.float32),
                          camera=rng.normal(size=6).astype(np.float32))
        frame = Frame(index=i, timestamp=i / 30.0, rgb=rgb, depth=depth, intrinsics=DEMO_INTRINSICS)
        t0 = time.perf_counter()
        recorder.write(frame, FrameResult(frame_index=i, timestamp=i / 30.0, hands=[hand]))
        calls.append(time.perf_counter() - t0)
        if fps > 0:
            time.sleep(max(0.0, start + (i + 1) / fps - time.monotonic()))
    status = recorder.close()
    if status.error:
        raise OSError(status.error)
    return RecordingCost(frames=frames, rgb_codec=options.rgb_codec, write_call_us=float(np.median(calls)) * 1e6,
                         writer_ms_per_frame=status.writer_ms_per_frame, sync_ms_per_frame=status.sync_ms_per_frame,
                         bytes_per_frame=status.bytes_written / max(1, status.frames_written),
                         dropped=status.frames_dropped)
