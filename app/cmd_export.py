"""`handstream export`: a trained checkpoint → streaming ONNX model, or a recorded session → csv/json/npz."""
from __future__ import annotations

import argparse
from pathlib import Path

NAME = "export"
HELP = "export a checkpoint to a streaming ONNX model (export seqhand|cadstn|lifter --ckpt ...) " \
       "or a recorded session's predictions (export SESSION_DIR --format csv|json|npz|obj)"

MODELS = ("seqhand", "cadstn", "lifter")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="seqhand | cadstn | lifter | a recorded session folder")
    parser.add_argument("--ckpt", type=Path, help="checkpoint to export (models)")
    parser.add_argument("--out", type=Path, help="output file (.onnx for models; defaults beside the session)")
    parser.add_argument("--int8", action="store_true",
                        help="quantise weights to int8 (models; see the model card for its cost)")
    parser.add_argument("--format", choices=("csv", "json", "npz", "obj"),
                        help="format of a session export (obj: a folder with one mesh per frame and hand)")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists (e.g. a shipped model)")


def run(args: argparse.Namespace) -> int:
    if args.target in MODELS:
        if args.ckpt is None or args.out is None:
            raise ValueError(f"export {args.target} needs --ckpt CKPT and --out FILE.onnx")
        if not args.ckpt.is_file():
            raise FileNotFoundError(f"checkpoint {args.ckpt} does not exist")
        if args.out.exists() and not args.force:
            raise FileExistsError(f"--out {args.out} exists; pass --force to replace it (nothing was written)")
        if args.target == "lifter":
            if args.int8:
                raise ValueError("--int8 is for the image and depth networks; the lifter is small enough in float")
            from models.lifter.export import export_onnx as export_lifter

            out = export_lifter(args.ckpt, args.out)
        else:
            if args.target == "seqhand":
                from models.seqhand.export import export_onnx
            else:
                from models.cadstn.export import export_onnx
            out = export_onnx(args.ckpt, args.out, int8=args.int8)
    else:
        session = Path(args.target)
        if not session.is_dir():
            raise FileNotFoundError(f"{session} is neither a model name ({', '.join(MODELS)}) nor a session folder")
        if args.format is None:
            raise ValueError("export SESSION_DIR needs --format csv|json|npz|obj")
        from engine.session_export import export_session

        out = export_session(session, args.format, args.out)
    print(f"wrote {out}")
    return 0
