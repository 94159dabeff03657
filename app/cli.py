"""The `handstream` command: one subcommand per module `app/cmd_<name>.py`.

Each subcommand module defines NAME, HELP, add_arguments(parser) and run(args) -> int, and keeps its
heavy imports (torch, cv2, Qt, open3d, mediapipe) inside run() so `handstream --help` stays fast.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

# Before numpy/torch load: spinning thread pools and multi-threaded BLAS cost far more than they give
# on small per-frame work, especially on a shared machine. Users may override either.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from app import (
    cmd_app,
    cmd_bench,
    cmd_calibrate,
    cmd_convert_mano,
    cmd_doctor,
    cmd_eval,
    cmd_export,
    cmd_gen_data,
    cmd_pose_bank,
    cmd_run,
    cmd_train,
)

COMMANDS = (
    cmd_app,
    cmd_doctor,
    cmd_convert_mano,
    cmd_calibrate,
    cmd_run,
    cmd_bench,
    cmd_gen_data,
    cmd_pose_bank,
    cmd_train,
    cmd_export,
    cmd_eval,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="handstream",
        description="Real-time 3D hand pose and shape: SeqHAND-Net (RGB) and CADSTN (depth).",
    )
    parser.add_argument(
        "--mano-dir",
        metavar="DIR",
        help="use the licensed MANO model from DIR (MANO_RIGHT.pkl, MANO_LEFT.pkl) instead of the "
        "open hand model; same as setting HANDSTREAM_MANO_DIR",
    )
    # --debug and --mano-dir mean the same before or after the subcommand (SUPPRESS: a subcommand's parser
    # leaves what the main parser read alone unless the option is given after it)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--mano-dir", metavar="DIR", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show full tracebacks on errors and MediaPipe's own logging")
    parser.add_argument("--debug", action="store_true",
                        help="show full tracebacks on errors and MediaPipe's own logging")
    for p in (parser, common):  # how much handstream's own log says, before or after the subcommand
        level = p.add_mutually_exclusive_group()
        level.add_argument("--verbose", "-v", action="store_true", default=argparse.SUPPRESS if p is common else False,
                           help="also log what handstream is doing (info)")
        level.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS if p is common else False,
                           help="log errors only, no warnings")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP, parents=[common])
        module.add_arguments(p)
        p.set_defaults(run=module.run)
    return parser


def configure_logging(verbose: bool = False, quiet: bool = False) -> None:
    """handstream's own log on standard error, one line a message: warnings by default."""
    import logging

    level = logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING
    logging.basicConfig(level=level, format="handstream: %(levelname)s: %(message)s", force=True)
    logging.getLogger("handstream").setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.mano_dir:
        os.environ["HANDSTREAM_MANO_DIR"] = args.mano_dir
    if args.debug:
        os.environ["HANDSTREAM_DEBUG"] = "1"  # also lets MediaPipe's native start-up logging through
    configure_logging(verbose=args.verbose or args.debug, quiet=args.quiet)
    if args.command is None:
        parser.print_help()
        return 1
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("handstream: interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError) as exc:  # user errors: one line, no traceback
        if args.debug or os.environ.get("HANDSTREAM_DEBUG"):
            raise
        print(f"handstream: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
