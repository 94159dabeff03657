"""`handstream gen-data`: write a synthetic pose-flow dataset (RGB or depth sequences, or MediaPipe's landmarks on
full-frame renders for the keypoint lifter) to shards."""
from __future__ import annotations

import argparse
from pathlib import Path

NAME = "gen-data"
HELP = ("generate synthetic hand-motion sequences (RGB, depth, or MediaPipe's landmarks on renders for the lifter) "
        "into dataset shards; resumable")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", choices=("rgb", "depth", "landmarks"), default="rgb",
                        help="RGB (SeqHAND-Net), depth (CADSTN) or landmarks (MediaPipe run on full-frame renders, "
                        "with their truth: the keypoint lifter's [train] detector_shards)")
    parser.add_argument("--sequences", type=int, default=1000, help="number of sequences (default 1000)")
    parser.add_argument("--frames", type=int, default=10, help="frames per sequence (default 10)")
    parser.add_argument("--size", type=int, default=None,
                        help="image side: RGB crop (default 224) or depth crop (default 128)")
    parser.add_argument("--full-frame", action="store_true", help="depth: whole 640x480 frames instead of crops")
    parser.add_argument("--out", type=Path, required=True, help="dataset folder (created; rerun to resume)")
    parser.add_argument("--seed", type=int, default=0, help="global seed: same seed, same bytes (default 0)")
    parser.add_argument("--backgrounds", type=Path, help="folder of background images (e.g. VOC2012 JPEGImages); "
                        "default: procedural textures")
    parser.add_argument("--pose-bank", type=Path, help="pose bank .npz from `handstream pose-bank` "
                        "(default: procedural poses from the anatomical prior)")
    parser.add_argument("--bank-size", type=int, default=100_000,
                        help="size of the procedural pose bank (default 100000)")
    parser.add_argument("--metric", choices=("l2", "l1_prev"), default="l2",
                        help="pose-flow snapping: paper's Euclidean nearest pose, or L1 plus distance to the "
                        "previous pose (reference code)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--per-shard", type=int, default=50, help="sequences per shard file (default 50)")


def run(args: argparse.Namespace) -> int:
    if args.kind == "landmarks":
        from models.lifter.detector_data import build_shards

        if args.sequences < 1 or args.frames < 3 or args.per_shard < 1:
            raise ValueError("--sequences and --per-shard must be at least 1, --frames at least 3")
        paths = build_shards(args.out, seed=args.seed, sequences=args.sequences, per_shard=args.per_shard,
                             frames=args.frames)
        print(f"{args.out}: {len(paths)} shard(s) of MediaPipe's landmarks on renders")
        return 0
    from models.synth.generate import GenerateOptions, generate_dataset

    size = (224 if args.kind == "rgb" else 128) if args.size is None else args.size
    options = GenerateOptions(
        out=args.out, kind=args.kind, sequences=args.sequences, frames=args.frames, size=size, seed=args.seed,
        backgrounds=args.backgrounds, pose_bank=args.pose_bank, bank_size=args.bank_size, workers=args.workers,
        per_shard=args.per_shard, full_frame=args.full_frame, metric=args.metric)
    result = generate_dataset(options)
    print(f"{args.out}: wrote {len(result.written)} shard(s), {result.skipped} already complete"
          + (f", removed {result.removed_partial} partial file(s)" if result.removed_partial else ""))
    return 0
