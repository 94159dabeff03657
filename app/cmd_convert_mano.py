"""`handstream convert-mano`: make the official MANO pickles loadable without chumpy (one time, per download)."""
from __future__ import annotations

import argparse
from pathlib import Path

NAME = "convert-mano"
HELP = "convert the official MANO_RIGHT.pkl / MANO_LEFT.pkl (chumpy pickles) into plain files for --mano-dir"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--src", type=Path, required=True,
                        help="MANO_RIGHT.pkl, MANO_LEFT.pkl or the folder holding them (the MANO download's models/)")
    parser.add_argument("--out", type=Path, required=True,
                        help="folder to write the converted files to; then use --mano-dir OUT")


def run(args: argparse.Namespace) -> int:
    from models.hand.mano_convert import convert_mano, sources

    for src in sources(args.src):
        done = convert_mano(src, args.out)
        note = " (fixed the official left shapedirs: x mirrored, smplx issue #48)" if done.fixed_left_shapedirs else ""
        print(f"{src} -> {done.path}{note}")
    print(f"use it with: handstream --mano-dir {args.out} ...  (or export HANDSTREAM_MANO_DIR={args.out})")
    return 0
