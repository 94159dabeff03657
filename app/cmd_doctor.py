"""`handstream doctor`: what this machine has, which hand model is active, and which cameras are attached."""
from __future__ import annotations

import argparse

NAME = "doctor"
HELP = "print versions, execution providers, the active hand model and attached cameras"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-cameras", action="store_true", help="skip probing cameras")


def run(args: argparse.Namespace) -> int:
    from app.diagnostics import collect_report, format_report

    print(format_report(collect_report(probe_cameras=not args.no_cameras)))
    return 0
