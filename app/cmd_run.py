"""`handstream run`: the live engine from the command line, with a status line and a summary."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from app.live_arguments import add_live_arguments

NAME = "run"
HELP = "run the live engine on a camera, file, recording or the demo; print fps and latency"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_live_arguments(parser)
    parser.add_argument("--headless", action="store_true", help="no preview window")
    parser.add_argument("--stills", action="store_true",
                        help="the frames are unrelated photos: each one on its own (a fresh sequence, MediaPipe in "
                        "image mode)")
    parser.add_argument("--frames", type=int, help="stop after N processed frames")
    parser.add_argument("--out", type=Path, help="write one JSON line of results per frame to this new file, "
                        "or to standard output with '-' (the status and summary then go to standard error)")
    parser.add_argument("--stream", metavar="HOST:PORT",
                        help="also send each frame's results as one UDP datagram of JSON (an --out line) to HOST:PORT "
                        "while it runs, e.g. 127.0.0.1:9000 (receiver example: docs/stream_client.py)")
    parser.add_argument("--vertices", action="store_true", help="include mesh vertices in --out, --stream and --record")
    parser.add_argument("--record", type=Path, metavar="DIR",
                        help="record frames and results into a new session folder")
    parser.add_argument("--fast", action="store_true",
                        help="play files and recordings as fast as possible, without dropping frames, "
                             "with reproducible results (hand detection inline)")
    parser.add_argument("--provider", action="append", dest="providers", metavar="NAME",
                        help="ONNX Runtime execution provider (repeatable; default: best available)")
    parser.add_argument("--threads", type=int, default=1,
                        help="ONNX Runtime intra-op threads (default 1: polite on a shared CPU)")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGINT and SIGTERM end a run alike: recording closed, summary written


def run(args: argparse.Namespace) -> int:
    import json
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        # SIGINT too, as the app does: a run started in the background by a script inherits SIGINT ignored, and
        # `kill -INT` must still close its recording
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, _interrupt)

    from engine.pipeline import Pipeline
    from engine.session import result_to_json
    from engine.sources import default_model, live_engine_options, open_source
    from engine.stream import StreamingEngine

    args.model = args.model or default_model(args.source)
    if args.frames is not None and args.frames < 1:
        raise ValueError(f"--frames must be at least 1, got {args.frames}")
    if args.stream is not None:
        from engine.result_stream import parse_address

        parse_address(args.stream)  # a bad address fails before anything starts
    to_stdout = args.out is not None and str(args.out) == "-"
    if args.out is not None and not to_stdout:
        if args.out.is_file():
            raise FileExistsError(f"--out {args.out} already exists; choose a new file (nothing was overwritten)")
        if not args.out.exists() and not args.out.parent.is_dir():
            raise FileNotFoundError(f"--out {args.out}: folder {args.out.parent} does not exist")
    intrinsics = None
    if args.calibration is not None:
        from calibration.storage import load_calibration

        intrinsics = load_calibration(args.calibration)
    source = open_source(args.source, realtime=not args.fast, intrinsics=intrinsics)  # a bad spec fails first
    engine = StreamingEngine(live_engine_options(
        args.source, args.model, args.model_path, args.detector, max_hands=args.max_hands,
        providers=tuple(args.providers) if args.providers else None, calibration=args.calibration,
        threads=args.threads, stills=args.stills, depth_placer=not args.no_placer,
        vertices=args.vertices,  # the mesh only when something keeps it (--out/--record/--stream --vertices)
        background_detection=not args.fast))  # live: never wait for MediaPipe; --fast: reproducible
    recorder = None
    out_file = None
    stream = None
    reader_gone = threading.Event()  # --out - piped into a reader that stopped (e.g. `head`)
    lock = threading.Lock()
    latest: dict = {}
    span: list[float] = []  # monotonic time of the first and the latest result
    try:
        source.start()  # a missing camera or bad file fails here, before any output is created
        if args.record is not None:
            from engine.recording import RecordingOptions, SessionRecorder

            # --fast is lossless: the recorder waits for its writer instead of dropping frames
            recorder = SessionRecorder(args.record, RecordingOptions(vertices=args.vertices, wait_for_writer=args.fast),
                                       source=args.source,
                                       engine=engine.describe())
        if args.stream is not None:
            from engine.result_stream import ResultStream

            stream = ResultStream(args.stream, args.vertices)
        if to_stdout:
            out_file = sys.stdout
        elif args.out is not None:  # a new file, or a device or pipe such as /dev/null
            out_file = open(args.out, "w" if args.out.exists() else "x", encoding="utf-8")

        def on_result(frame, result) -> None:
            now = time.monotonic()
            span[:] = [span[0] if span else now, now]
            if recorder is not None:
                recorder.write(frame, result)
            if stream is not None:
                stream.send(result)
            if out_file is not None and not reader_gone.is_set():
                try:
                    out_file.write(json.dumps(result_to_json(result, args.vertices)) + "\n")
                except BrokenPipeError:
                    reader_gone.set()
            if not args.headless:
                with lock:
                    latest["frame"], latest["result"] = frame, result

        pipeline = Pipeline(source, engine, on_result, max_frames=args.frames)
        print(f"handstream: {args.model} on {source.name} with {', '.join(engine.providers)}", file=sys.stderr)
        pipeline.start()
        preview = None if args.headless else _Preview.open()
        last_flush = last_status = 0.0
        try:
            while not pipeline.wait(0.03 if preview else 0.25) and not reader_gone.is_set():
                now = time.monotonic()
                if now - last_status > 0.5:
                    _status_line(pipeline.stats(), recorder)
                    last_status = now
                if out_file is not None and now - last_flush > 1.0:
                    try:
                        out_file.flush()  # at most a second of results is ever only in memory
                    except BrokenPipeError:
                        reader_gone.set()
                    last_flush = now
                if preview is not None:
                    with lock:
                        item = (latest.pop("frame", None), latest.pop("result", None))
                    if item[0] is not None and not preview.show(*item):
                        break
        except KeyboardInterrupt:
            pass
        pipeline.stop()
        elapsed = span[1] - span[0] if span else 0.0
        if preview is not None:
            preview.close()
        stats = pipeline.stats()
    finally:
        source.stop()
        if out_file is not None:
            _close_output(out_file, reader_gone)
        if stream is not None:
            stream.close()
        rec_status = recorder.close() if recorder is not None else None
        engine.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    _summary(stats, elapsed, args, rec_status, sys.stderr if to_stdout else sys.stdout)
    return 0 if not stats.error else 1


def _close_output(out_file, reader_gone) -> None:
    """Flush and close --out; standard output whose reader left is pointed at /dev/null instead, so that
    Python's own flush at exit does not fail on the closed pipe."""
    import os

    try:
        out_file.flush()
    except BrokenPipeError:
        reader_gone.set()
    if out_file is sys.stdout:
        if reader_gone.is_set():
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, sys.stdout.fileno())
            os.close(null)
        return
    out_file.close()


def _status_line(stats, recorder) -> None:
    lat = stats.stages.get("latency")
    total = stats.stages.get("total")
    parts = [f"{stats.frames} frames", f"{stats.fps:5.1f} fps",
             f"engine {total.median_ms:5.1f} ms" if total else "",
             f"latency {lat.median_ms:5.1f} ms" if lat else "", f"dropped {stats.dropped}"]
    if stats.status and not stats.status.startswith("running"):
        parts.append(stats.status)
    if recorder is not None:
        parts.append(recorder.status().message())
    line = "  ".join(p for p in parts if p)
    if sys.stderr.isatty():
        print("\r" + line[:150].ljust(150), end="", file=sys.stderr, flush=True)
    else:
        print(line, file=sys.stderr, flush=True)


def _summary(stats, elapsed: float, args: argparse.Namespace, rec_status, out=sys.stdout) -> None:
    fps = (stats.frames - 1) / elapsed if stats.frames > 1 and elapsed > 0 else 0.0
    print(f"processed {stats.frames} frames in {elapsed:.1f} s ({fps:.1f} fps), dropped {stats.dropped}", file=out)
    for name in ("capture", "detect", "crop", "inference", "hand_model", "total", "latency"):
        s = stats.stages.get(name)
        if s is not None:
            print(f"  {name:<11} median {s.median_ms:7.2f} ms   p95 {s.p95_ms:7.2f} ms", file=out)
    if args.out is not None:
        print(f"results: {'standard output' if str(args.out) == '-' else args.out}", file=out)
    if rec_status is not None:
        print(f"recording: {rec_status.message()}", file=out)
    if stats.error:
        print(f"handstream: error: {stats.error}", file=sys.stderr)


class _Preview:
    """An OpenCV window with the 2-D joints and crop boxes, when a display exists."""

    @classmethod
    def open(cls) -> _Preview | None:
        import os

        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and sys.platform.startswith("linux"):
            print("handstream: no display; running headless (use `handstream app` for the desktop app)",
                  file=sys.stderr)
            return None
        return cls()

    def show(self, frame, result) -> bool:
        """Draw and show; False when the user closed the window or pressed q/Esc."""
        import cv2
        import numpy as np

        image = frame.rgb if frame.rgb is not None else cv2.applyColorMap(
            cv2.convertScaleAbs(frame.depth, alpha=255.0 / 2000.0), cv2.COLORMAP_JET)[..., ::-1]
        bgr = np.ascontiguousarray(image[..., ::-1])
        for hand in result.hands:
            x0, y0, x1, y1 = (int(v) for v in hand.box)
            cv2.rectangle(bgr, (x0, y0), (x1, y1), (0, 255, 0), 1)
            for x, y in hand.joints_2d:
                cv2.circle(bgr, (int(x), int(y)), 3, (0, 0, 255), -1)
            cv2.putText(bgr, f"{hand.track_id} {hand.handedness}", (x0, max(y0 - 4, 10)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 255, 0), 1)
        cv2.imshow("handstream", bgr)
        key = cv2.waitKey(1) & 0xFF
        return key not in (27, ord("q")) and cv2.getWindowProperty("handstream", cv2.WND_PROP_VISIBLE) >= 1

    def close(self) -> None:
        import cv2

        cv2.destroyAllWindows()
