"""`handstream eval`: held-out accuracy of a model — the numbers its model card reports."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from engine.estimators import MODEL_KINDS
from engine.sources import RGB_MODEL

NAME = "eval"
HELP = ("score a model (.onnx or a training .pt) on held-out synthetic sequences, CADSTN on NYU / ICVL, or a "
        "model through the engine on rendered frames beside MediaPipe, and on real photos and depth frames "
        "(finger states)")
REAL = ("real-hands", "real-depth")
SHEET_DIR = Path("runs/real-hands")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=MODEL_KINDS,
                        help="which network (synth / nyu / icvl: required; renders / real-hands: an RGB kind, default "
                        "lifter; real-depth: a depth kind, default cadstn)")
    parser.add_argument("--model-path", type=Path,
                        help="an exported .onnx or a training checkpoint .pt (default: the shipped "
                        "weights/<model>_compact.onnx)")
    parser.add_argument("--data", default="synth", choices=("synth", "nyu", "icvl", "renders", *REAL),
                        help="synth (default: sequences from a seed no training used); nyu / icvl: CADSTN only; "
                        "renders: an RGB model through the engine on held-out full-frame renders (any orientation), "
                        "MediaPipe alone on the same frames as the reference row; "
                        "real-hands: sign-digit and HandsDataset photos through the engine, with MediaPipe's own "
                        "landmarks as the reference row; real-depth: the SR305 depth frames")
    parser.add_argument("--root", type=Path, help="nyu: the split folder with joint_data.mat; icvl: the labels file; "
                        "real-hands / real-depth: the real-hands folder (default: shared/data/real-hands beside "
                        "the checkout)")
    parser.add_argument("--sequences", type=int, default=24, help="synthetic sequences (default 24)")
    parser.add_argument("--frames", type=int, default=20, help="frames per synthetic sequence (default 20)")
    parser.add_argument("--seed", type=int, default=1000, help="synthetic data seed (default 1000; training uses 0)")
    parser.add_argument("--max-tilt", type=float, metavar="DEG",
                        help="hands turned at most DEG from facing the camera (default 180: any orientation; "
                        "cadstn --live: always the full frames' 45)")
    parser.add_argument("--scale", type=float, nargs=2, metavar=("MIN", "MAX"),
                        help="seqhand: weak-perspective scale range of the synthetic hands (default 7 11)")
    parser.add_argument("--limit", type=int, default=0, help="nyu / icvl: first N frames only; real-hands: first N "
                        "photos of each set, taken in turn from its classes (0 = all)")
    parser.add_argument("--live", choices=("com", "track"),
                        help="cadstn on full synthetic frames, cropped as the engine does: around the depth centre "
                        "of mass (com) or the previous prediction (track)")
    parser.add_argument("--recentre", type=int, metavar="N",
                        help="with --live: re-cut each crop N times around the joints found in it "
                        "(default: the engine's, 1)")
    parser.add_argument("--no-placer", action="store_true",
                        help="with --live: without the placer beside a cadstn file (<stem>_placer.onnx), which moves "
                        "crops the depth detector cut down the arm to the hand")
    parser.add_argument("--crops", action="store_true",
                        help="with --live: crop renders of every orientation (the training data's kind) instead of "
                        "full frames with arm and wall (hands turned at most 45 degrees)")
    parser.add_argument("--keypoints", choices=("none", "simulated", "mediapipe"), default="none",
                        help="what an RGB-D cadstn model reads beside the depth: none (a depth-only source, the "
                        "default), simulated MediaPipe landmarks, or (with --live) MediaPipe itself on RGB-D renders")
    parser.add_argument("--rgbd-renders", action="store_true",
                        help="with --live: the RGB-D full-frame renders --keypoints mediapipe reads, here without "
                        "landmarks (the depth-only path on the same frames)")
    parser.add_argument("--sensor", default="", metavar="NAME",
                        help="cadstn on synth: depth sensor model of the renders (default: the renderer's; "
                        "simple = the renders of earlier releases: their noise model, no sleeve, body or table)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the numbers as JSON")
    parser.add_argument("--sheet", type=Path, metavar="DIR",
                        help="real-hands / real-depth: where the contact sheets go (default: beside --json, "
                        "else runs/real-hands/)")


def run(args: argparse.Namespace) -> int:
    if args.data in REAL:
        return _run_real(args)
    if args.sequences < 1 or args.frames < 1:
        raise ValueError("--sequences and --frames must be at least 1")
    if args.data == "renders":
        return _run_renders(args)
    if args.model is None:
        raise ValueError(f"--model is required with --data {args.data}")
    from engine.stream import default_model_path

    model = args.model_path or default_model_path(args.model)
    if not model.is_file():
        raise FileNotFoundError(f"{args.model} model {model} is missing (train and export it, or pass --model-path)")
    from models.synth.sequence import ANY_TILT_DEG, DEFAULT_SCALE

    max_tilt = ANY_TILT_DEG if args.max_tilt is None else args.max_tilt
    if args.model == "lifter":
        if args.data != "synth" or args.live or args.max_tilt is not None or args.scale is not None:
            raise ValueError("the lifter is evaluated on synthetic landmark sequences over every orientation "
                             "(--data synth, no --live/--max-tilt/--scale); through the engine: --data renders")
        from models.lifter.evaluate import evaluate as evaluate_lifter

        result = evaluate_lifter(model, sequences=args.sequences, length=args.frames, seed=args.seed)
        print(f"lifter {model.name}: {result.summary()}")
        numbers = result.to_dict()
    elif args.model in ("seqhand", "seqhand_kp"):
        if args.data != "synth" or args.live:
            raise ValueError("seqhand is evaluated on synthetic RGB sequences only (--data synth, no --live)")
        from models.seqhand.evaluate import evaluate_synthetic

        result = evaluate_synthetic(model, sequences=args.sequences, length=args.frames, seed=args.seed,
                                    max_tilt_deg=max_tilt,
                                    scale=DEFAULT_SCALE if args.scale is None else tuple(args.scale))
        print(f"{args.model} {model.name}: {result.summary()}")
        numbers = result.__dict__
    else:
        from engine.evaluate_live import evaluate_live
        from models.cadstn.evaluate import EvalOptions, evaluate

        options = EvalOptions(data=args.data, root=str(args.root or ""), seed=args.seed, sequences=args.sequences,
                              frames=args.frames, limit=args.limit,
                              max_tilt_deg=max_tilt, sensor=args.sensor, keypoints=args.keypoints,
                              rgbd_renders=args.rgbd_renders)
        if args.live:
            if args.data != "synth":
                raise ValueError("--live runs on full synthetic frames (--data synth)")
            from engine.stream import EngineOptions

            recentre = EngineOptions().depth_recentre if args.recentre is None else args.recentre
            result = evaluate_live(model, options, centring=args.live, recentre=recentre, full_frame=not args.crops,
                                   placer=not args.no_placer)
        else:
            if args.crops or args.rgbd_renders:
                raise ValueError(f"{'--crops' if args.crops else '--rgbd-renders'} goes with --live")
            result = evaluate(model, options)
        print(f"cadstn {model.name} on {args.data}:\n{result.summary()}")
        numbers = result.to_dict()
    if args.json is not None:
        args.json.write_text(json.dumps(numbers, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def _run_real(args: argparse.Namespace) -> int:
    """The real-image check: scores table, JSON and contact sheets (one per system)."""
    from app.contact_sheet import depth_sheet, photo_sheet
    from engine import real_depth, real_hands

    if args.limit < 0:
        raise ValueError("--limit must be 0 (all) or more")
    root = args.root or real_hands.REAL_HANDS_DIR
    if not root.is_dir():
        raise FileNotFoundError(f"real-hands folder {root} is missing (pass --root)")
    sheets = args.sheet or (args.json.parent if args.json is not None else SHEET_DIR)
    start = time.perf_counter()
    if args.data == "real-hands":
        options = real_hands.RealHandsOptions(root=root, model=args.model or RGB_MODEL, model_path=args.model_path,
                                              limit=args.limit)
        report = real_hands.evaluate_real_hands(options)
        digits, hands = report.rows[0].digits_photos, report.rows[0].hands_photos
        print(f"real-hands in {root}: {digits} sign-digit photos, {hands} one-hand HandsDataset photos")
        print(report.table())
        written = [photo_sheet(row, sheets / f"{row.name}_real_hands.png") for row in report.rows]
        numbers = {"root": str(root), "model_path": str(args.model_path or ""), **report.to_dict()}
    else:
        if args.limit:
            raise ValueError("--limit is for real-hands; real-depth runs every frame")
        options = real_depth.RealDepthOptions(root=root, model=args.model or "cadstn", model_path=args.model_path)
        report = real_depth.evaluate_real_depth(options)
        print(report.summary())
        written = [depth_sheet(report, root, sheets / f"{report.model}_real_depth.png")]
        numbers = {"root": str(root), "model_path": str(args.model_path or ""), **report.to_dict()}
    for path in written:
        print(f"wrote {path}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(numbers, indent=2) + "\n")
        print(f"wrote {args.json}")
    print(f"wall time {time.perf_counter() - start:.1f} s")
    return 0


def _run_renders(args: argparse.Namespace) -> int:
    """An RGB model through the engine on held-out renders, beside MediaPipe on the same frames."""
    from engine.estimators import kinds_reading
    from engine.render_eval import evaluate_on_renders

    model = args.model or RGB_MODEL
    if model not in kinds_reading("rgb"):
        raise ValueError(f"--data renders runs a colour model ({', '.join(kinds_reading('rgb'))}), not {model}")
    result = evaluate_on_renders(model, args.model_path, sequences=args.sequences, frames=args.frames,
                                 seed=args.seed)
    print(result.summary())
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0
