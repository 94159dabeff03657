"""`handstream bench`: per-stage latency and end-to-end fps for each model and execution provider."""
from __future__ import annotations

import argparse
from pathlib import Path

from engine.estimators import MODEL_KINDS

NAME = "bench"
HELP = ("measure per-stage latency (median, p95) and end-to-end fps; `bench gen` measures data generation, "
        "`bench record` the cost of recording")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", nargs="?", default="engine", choices=("engine", "gen", "record"),
                        help="engine (default), gen (synthetic data generation speed) or record (what "
                             "recording a session costs the live path and the disk)")
    parser.add_argument("--model", action="append", choices=(*MODEL_KINDS, "mediapipe"),
                        help="model to measure (repeatable; default: every kind with a shipped file); mediapipe: "
                        "MediaPipe Hands alone, the reference for the RGB path's speed")
    parser.add_argument("--model-path", type=Path, help="ONNX file to use instead of weights/<model>_compact.onnx "
                        "(only with a single --model)")
    parser.add_argument("--source", default="demo", help="frames to run on (default: the built-in demo)")
    parser.add_argument("--provider", action="append", dest="providers", metavar="NAME",
                        help="execution provider (repeatable; default: every available one)")
    parser.add_argument("--frames", type=int, default=300, help="measured frames per run (default 300)")
    parser.add_argument("--threads", type=int, default=1,
                        help="ONNX Runtime intra-op threads (default 1: polite on a shared CPU)")
    parser.add_argument("--detector", default="auto", choices=("auto", "mediapipe", "depth"),
                        help="hand detector (auto: depth segmentation on the demo and for cadstn, else MediaPipe)")
    parser.add_argument("--max-hands", type=int, default=2,
                        help="hands to track, for the model and for MediaPipe alone (default 2, as in every run)")
    parser.add_argument("--no-vertices", action="store_true",
                        help="joints only, no mesh (what `handstream run` does unless --vertices; the app draws it)")
    parser.add_argument("--no-detect-ahead", action="store_true",
                        help="the detector and the model one after the other on one thread (by default the "
                             "detector finds the next frame's hands meanwhile, as in every run)")
    parser.add_argument("--no-placer", action="store_true",
                        help="cadstn: without the placer beside its file (what it costs: compare with and without)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    gen = parser.add_argument_group("bench gen")
    gen.add_argument("--kind", choices=("rgb", "depth"), help="only this kind of data (default: both)")
    gen.add_argument("--size", type=int, help="image size (default: 224 for RGB, 128 for depth)")
    gen.add_argument("--workers", type=int, default=2, help="generator processes (default 2)")
    gen.add_argument("--sequences", type=int, default=64, help="sequences of 10 frames to time (default 64)")


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import json

    if args.what == "gen":
        return _bench_gen(args)
    if args.what == "record":
        return _bench_record(args)
    from engine.bench import bench_engine, format_table
    from engine.runtime import PREFERRED_PROVIDERS, pick_providers
    from engine.stream import default_model_path

    models = args.model or [k for k in MODEL_KINDS if default_model_path(k).is_file()]  # every shipped kind
    if args.model_path is not None and len(models) != 1:
        raise ValueError("--model-path needs exactly one --model")
    if args.frames < 2:
        raise ValueError(f"--frames must be at least 2, got {args.frames}")
    if args.max_hands < 1:
        raise ValueError(f"--max-hands must be at least 1, got {args.max_hands}")
    providers = args.providers or [p for p in pick_providers() if p in PREFERRED_PROVIDERS]
    results = [bench_engine(m, p, source=args.source, frames=args.frames, model_path=args.model_path,
                            detector=args.detector, threads=args.threads, vertices=not args.no_vertices,
                            detect_ahead=not args.no_detect_ahead, max_hands=args.max_hands,
                            placer=not args.no_placer)
               for m in models for p in (["MediaPipe's own (TFLite, CPU)"] if m == "mediapipe" else providers)]
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in results], indent=2))
    else:
        print(format_table(results))
    return 0 if any(r.error is None for r in results) else 2


def _bench_gen(args: argparse.Namespace) -> int:
    """Synthetic data generation speed, RGB and depth (or --kind), all workers together."""
    import dataclasses
    import json

    from models.synth.speed import measure_generation

    kinds = [args.kind] if args.kind else ["rgb", "depth"]
    results = [measure_generation(kind, size=args.size, workers=args.workers, sequences=args.sequences)
               for kind in kinds]
    if args.json:
        print(json.dumps([{**dataclasses.asdict(r), "frames_per_second": r.frames_per_second} for r in results],
                         indent=2))
    else:
        for r in results:
            print(f"gen {r.kind} {r.size}x{r.size}: {r.frames_per_second:.0f} frames/s "
                  f"({r.frames} frames in {r.seconds:.1f} s, {r.workers} workers)")
    return 0


def _bench_record(args: argparse.Namespace) -> int:
    """Record 640x480 RGB-D frames and a hand at 30 fps into a temporary session, per codec."""
    import dataclasses
    import json
    import tempfile

    from engine.bench import measure_recording_cost
    from engine.recording import RecordingOptions

    frames = min(args.frames, 300)
    with tempfile.TemporaryDirectory(prefix="handstream-bench-") as tmp:
        results = [measure_recording_cost(Path(tmp) / codec, frames=frames, options=RecordingOptions(rgb_codec=codec))
                   for codec in ("png", "jpg")]
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in results], indent=2))
    else:
        for r in results:
            print(f"record rgb {r.rgb_codec} + depth png16, {r.frames} frames at 30 fps: write() on the live path "
                  f"{r.write_call_us:.0f} us, writer thread {r.writer_ms_per_frame:.1f} ms/frame, fsync "
                  f"{r.sync_ms_per_frame:.1f} ms/frame, {r.bytes_per_frame / 1e6:.2f} MB/frame, {r.dropped} dropped")
    return 0
