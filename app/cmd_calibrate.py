"""`handstream calibrate`: measure a camera's intrinsics and distortion from views of a board.

From a folder of photos (``--images DIR``) or live (``--source 0``, also a video file or a
RealSense device/recording): the live mode keeps only steady, diverse views and shows what it has
(a window when a display exists, printed lines otherwise). The result goes to ``--out`` as JSON,
which ``handstream run --calibration FILE`` loads.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

NAME = "calibrate"
HELP = "measure camera intrinsics and lens distortion from views of a checkerboard or ChArUco board"

WINDOW = "handstream calibrate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--images", metavar="DIR", type=Path, help="folder of board photos (png, jpg, ...)")
    what.add_argument("--source", metavar="SPEC",
                      help="collect views live: webcam index (0), video file, realsense or a .bag/.db3 recording")
    parser.add_argument("--board", required=True, metavar="SPEC",
                        help="checkerboard:COLSxROWS:SQUAREmm (inner corners, e.g. checkerboard:9x6:25mm) or "
                        "charuco:COLSxROWS:SQUAREmm:MARKERmm[:DICT] (squares, e.g. charuco:7x5:30mm:22mm)")
    parser.add_argument("--out", type=Path, default=Path("calib.json"), metavar="FILE",
                        help="calibration file to write (default: calib.json)")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    parser.add_argument("--views", type=int, default=20, metavar="N",
                        help="live: diverse views to collect before calibrating (default: 20)")
    parser.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                        help="live: calibrate with the views collected so far after this long (default: 300)")
    parser.add_argument("--no-window", action="store_true",
                        help="live: print feedback instead of showing a window even when a display exists")


def run(args: argparse.Namespace) -> int:
    from calibration.board import parse_board
    from calibration.calibrate import MIN_VIEWS, calibrate_detections, calibrate_folder
    from calibration.storage import save_calibration

    board = parse_board(args.board)
    out = Path(args.out)
    if out.exists() and not args.force:
        raise FileExistsError(f"--out {out} already exists; use --force to replace it")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"--out {out}: folder {out.parent} does not exist")
    if not os.access(out.parent, os.W_OK):
        raise PermissionError(f"--out {out}: folder {out.parent} is not writable")
    if args.images is not None:
        result = calibrate_folder(args.images, board)
        if result.skipped_files:
            print(f"board not found in {len(result.skipped_files)} image(s): {', '.join(result.skipped_files)}")
        source_name = str(args.images)
    else:
        if args.source.strip() == "demo":
            raise ValueError("--source demo shows a synthetic hand, not a calibration board; use a camera or a video")
        if args.views < MIN_VIEWS:
            raise ValueError(f"--views {args.views}: calibration needs at least {MIN_VIEWS} views")
        views, source_name = _collect_live(args, board)
        result = calibrate_detections(views, board)
    k = result.intrinsics
    worst = max(range(len(result.per_view_rms_px)), key=result.per_view_rms_px.__getitem__)
    worst_name = result.used_files[worst] if result.used_files else f"view {worst + 1}"
    save_calibration(out, k, rms_px=result.rms_px, views=result.views, board=str(board),
                     extra={"source": source_name, "per_view_rms_px": [round(e, 4) for e in result.per_view_rms_px],
                            "used_files": result.used_files})
    print(f"calibrated from {result.views} views of {board} ({k.width}x{k.height} px):")
    print(f"  fx = {k.fx:.2f} px   fy = {k.fy:.2f} px")
    print(f"  cx = {k.cx:.2f} px   cy = {k.cy:.2f} px")
    print("  distortion (k1, k2, p1, p2, k3) = (" + ", ".join(f"{d:.5f}" for d in k.distortion) + ")")
    print(f"  RMS reprojection error = {result.rms_px:.3f} px (worst: {worst_name}, "
          f"{result.per_view_rms_px[worst]:.3f} px)")
    if result.rms_px > 1.0:
        print("  warning: RMS above 1 px — check the board size and flatness, focus and lighting", file=sys.stderr)
    print(f"wrote {out}")
    return 0


def _has_display() -> bool:
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def _collect_live(args: argparse.Namespace, board) -> tuple[list, str]:
    """Steady, diverse board detections from a live source, with feedback; stops at --views or --timeout."""
    import cv2

    from calibration.board import BoardDetector
    from calibration.views import ViewCollector
    from engine.sources import open_source

    source = open_source(args.source, realtime=False)
    preview, precise = BoardDetector(board, accurate=False), BoardDetector(board)
    collector = ViewCollector()
    views = []
    window = _has_display() and not args.no_window
    source.start()
    finish = "q or Esc in the window" if window else "Ctrl-C"
    print(f"calibrating from {source.name}: hold the {board} still at different places, distances and "
          f"tilts; {args.views} views needed ({finish}: finish early)")
    started = time.monotonic()
    try:
        while len(views) < args.views and time.monotonic() - started < args.timeout:
            frame = source.read(timeout=1.0)
            if frame is None:
                if source.finished:
                    break
                continue
            if frame.rgb is None:
                raise ValueError(f"--source {args.source} delivers no colour images; calibration needs them")
            det = preview.detect(frame.rgb)
            if collector.consider(det):
                views.append(precise.detect(frame.rgb) or det)
                print(f"  view {len(collector.views)}/{args.views} kept — image coverage "
                      f"{collector.coverage:.0%}" + ("; now move the board towards uncovered areas and tilt it"
                                                     if collector.coverage < 0.7 else ""))
            if window:
                shown = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR)
                _draw_feedback(shown, collector, det, args.views)
                cv2.imshow(WINDOW, shown)
                if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                    break
    except KeyboardInterrupt:  # finishing early is how a printed-feedback session ends
        print("stopped: calibrating with the views collected so far")
    finally:
        source.stop()
        if window:
            cv2.destroyAllWindows()  # safe even when the window never opened
    if source.error:
        from calibration.calibrate import MIN_VIEWS

        if len(views) < MIN_VIEWS:
            raise OSError(source.error)
        print(f"warning: {source.error}; calibrating with the views collected before", file=sys.stderr)
    print(f"collected {len(views)} views, coverage {collector.coverage:.0%}")
    return views, source.name


def _draw_feedback(bgr, collector, det, wanted: int) -> None:
    """Shade the image cells no kept view reached, draw the current detection and the count."""
    import cv2

    h, w = bgr.shape[:2]
    gx, gy = collector.grid
    for cx, cy in collector.uncovered_cells():
        x0, y0, x1, y1 = cx * w // gx, cy * h // gy, (cx + 1) * w // gx, (cy + 1) * h // gy
        bgr[y0:y1, x0:x1] = (bgr[y0:y1, x0:x1] * 0.7).astype(bgr.dtype)
    if det is not None:
        for x, y in det.image_points:
            cv2.circle(bgr, (int(round(x)), int(round(y))), 3, (0, 255, 0), -1)
    cv2.putText(bgr, f"views {len(collector.views)}/{wanted}  coverage {collector.coverage:.0%}", (10, 24),
                cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 255, 255), 2)
