"""`handstream eval`: held-out accuracy of a model — the numbers its model card reports."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "eval"
HELP = "score a model (.onnx or a training .pt) on held-out synthetic sequences, or CADSTN on NYU / ICVL"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, choices=("seqhand", "cadstn"), help="which network")
    parser.add_argument("--model-path", type=Path,
                        help="an exported .onnx or a training checkpoint .pt (default: the shipped weights/<model>_compact.onnx)")
    parser.add_argument("--data", default="synth", choices=("synth", "nyu", "icvl"),
                        help="synth (default: sequences from a seed no training used); nyu / icvl: CADSTN only")
    parser.add_argument("--root", type=Path, help="nyu: the split folder with joint_data.mat; icvl: the labels file")
    parser.add_argument("--sequences", type=int, default=24, help="synthetic sequences (default 24)")
    parser.add_argument("--frames", type=int, default=20, help="frames per synthetic sequence (default 20)")
    parser.add_argument("--seed", type=int, default=1000, help="synthetic data seed (default 1000; training uses 0)")
    parser.add_argument("--max-tilt", type=float, metavar="DEG",
                        help="hands turned at most DEG from facing the camera (default 180: any orientation; "
                        "cadstn --live: always the full frames' 45)")
    parser.add_argument("--scale", type=float, nargs=2, metavar=("MIN", "MAX"),
                        help="seqhand: weak-perspective scale range of the synthetic hands (default 7 11)")
    parser.add_argument("--limit", type=int, default=0, help="nyu / icvl: first N frames only (0 = all)")
    parser.add_argument("--live", choices=("com", "track"),
                        help="cadstn on full synthetic frames, cropped as the engine does: around the depth centre "
                        "of mass (com) or the previous prediction (track)")
    parser.add_argument("--recentre", type=int, metavar="N",
                        help="with --live: re-cut each crop N times around the joints found in it "
                        "(default: the engine's, 1)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the numbers as JSON")


def run(args: argparse.Namespace) -> int:
    from engine.stream import default_model_path

    model = args.model_path or default_model_path(args.model)
    if not model.is_file():
        raise FileNotFoundError(f"{args.model} model {model} is missing (train and export it, or pass --model-path)")
    if args.sequences < 1 or args.frames < 1:
        raise ValueError("--sequences and --frames must be at least 1")
    from models.synth.sequence import ANY_TILT_DEG, DEFAULT_SCALE

    max_tilt = ANY_TILT_DEG if args.max_tilt is None else args.max_tilt
    if args.model == "seqhand":
        if args.data != "synth" or args.live:
            raise ValueError("seqhand is evaluated on synthetic RGB sequences only (--data synth, no --live)")
        from models.seqhand.evaluate import evaluate_synthetic

        result = evaluate_synthetic(model, sequences=args.sequences, length=args.frames, seed=args.seed,
                                    max_tilt_deg=max_tilt,
                                    scale=DEFAULT_SCALE if args.scale is None else tuple(args.scale))
        print(f"seqhand {model.name}: {result.summary()}")
        numbers = result.__dict__
    else:
        from models.cadstn.evaluate import EvalOptions, evaluate, evaluate_live

        options = EvalOptions(data=args.data, root=str(args.root or ""), seed=args.seed, sequences=args.sequences,
                              frames=args.frames, limit=args.limit,
                              max_tilt_deg=max_tilt)
        if args.live:
            if args.data != "synth":
                raise ValueError("--live runs on full synthetic frames (--data synth)")
            from engine.stream import EngineOptions

            recentre = EngineOptions().depth_recentre if args.recentre is None else args.recentre
            result = evaluate_live(model, options, centring=args.live, recentre=recentre)
        else:
            result = evaluate(model, options)
        print(f"cadstn {model.name} on {args.data}:\n{result.summary()}")
        numbers = result.to_dict()
    if args.json is not None:
        args.json.write_text(json.dumps(numbers, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0
