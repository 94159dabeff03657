"""`handstream app`: the desktop window (live image with overlays, 3-D hand, shape plot, controls)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.live_arguments import add_live_arguments

NAME = "app"
HELP = "open the desktop app: live image with overlays, the 3-D hand mesh, shape lock and recording"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_live_arguments(parser)
    parser.add_argument("--record-dir", type=Path, default=Path("sessions"), metavar="DIR",
                        help="where Record puts new session folders (default ./sessions)")
    parser.add_argument("--no-start", action="store_true", help="open the window without starting")
    parser.add_argument("--quit-after", type=float, metavar="SECONDS",
                        help="close this many seconds after start-up and print display fps and 3-D "
                        "render time (for measurements and screenshots)")
    parser.add_argument("--screenshot", type=Path, metavar="PNG",
                        help="with --quit-after: save a picture of the window just before closing")


def run(args: argparse.Namespace) -> int:
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    from app.live_runner import LiveOptions
    from app.window import MainWindow

    if args.max_hands < 1:
        raise ValueError(f"--max-hands must be at least 1, got {args.max_hands}")
    if args.screenshot is not None and args.quit_after is None:
        raise ValueError("--screenshot needs --quit-after (the picture is taken just before closing)")
    if args.model_path is not None and not args.model_path.is_file():
        raise FileNotFoundError(f"--model-path {args.model_path} does not exist")
    from engine.sources import default_model

    options = LiveOptions(source=args.source, model=args.model or default_model(args.source),
                          model_path=args.model_path, detector=args.detector, max_hands=args.max_hands,
                          calibration=args.calibration, depth_placer=not args.no_placer)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("handstream")
    window = MainWindow(options, record_root=args.record_dir)
    window.show()
    if not args.no_start:
        QTimer.singleShot(0, window.start)
    if args.quit_after is not None:
        def finish() -> None:
            import numpy as np

            render = window.mesh_view.render_ms() if hasattr(window.mesh_view, "render_ms") else []
            stats = window.runner.stats()
            render_text = f"{np.median(render):.1f} ms" if render else "n/a (no frame rendered)"
            print(f"display {window.display_fps():.1f} fps, engine {stats.fps if stats else 0.0:.1f} fps, "
                  f"{window.frames_displayed} frames shown, 3-D render median {render_text}")
            if window.error_text:
                print(f"error shown: {window.error_text}")
            if args.screenshot is not None:
                args.screenshot.parent.mkdir(parents=True, exist_ok=True)
                if not window.grab().save(str(args.screenshot)):
                    print(f"handstream: error: cannot write {args.screenshot}", file=sys.stderr)
            window.close()

        delay_ms = int(args.quit_after * 1000)
        if args.no_start:
            QTimer.singleShot(delay_ms, finish)
        else:  # count from the end of start-up (camera opened and models loaded, or failed)
            window.started.connect(lambda _ok: QTimer.singleShot(delay_ms, finish))
    # Ctrl+C (SIGINT) and SIGTERM close the window like Esc does (the recording is closed, the 3-D view's process
    # ended). Python runs signal handlers only between bytecodes, never inside Qt's event loop, so a timer lets
    # the interpreter in five times a second.
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: window.close())
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(200)
    app.exec()
    return 0
