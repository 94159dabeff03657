"""`handstream train seqhand|cadstn|lifter`: staged training from a TOML config (seqhand/cadstn torchrun-ready)."""
from __future__ import annotations

import argparse
from pathlib import Path

NAME = "train"
HELP = "train SeqHAND-Net, CADSTN or the keypoint lifter from a TOML config (seqhand/cadstn run under torchrun for DDP)"

STAGES = {"seqhand": ("pretrain", "finetune"), "cadstn": ("spatial", "temporal", "fusion", "placer"),
          "lifter": ("train",)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", choices=sorted(STAGES), help="which network to train")
    parser.add_argument("--config", required=True, type=Path, help="TOML config (see models/configs/)")
    parser.add_argument(
        "--stage",
        help="seqhand: pretrain (synthetic sequences) | finetune (real images, ConvLSTM frozen); "
        "cadstn: spatial | temporal | fusion (gate only, both nets frozen) | placer (the crop placer, only when "
        "named); lifter: one stage",
    )
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint")


def run(args: argparse.Namespace) -> int:
    if args.stage is not None and args.stage not in STAGES[args.model]:
        raise ValueError(f"--stage {args.stage!r} is not a {args.model} stage; "
                         f"choose from {', '.join(STAGES[args.model])}")
    if not args.config.is_file():
        raise FileNotFoundError(f"config {args.config} does not exist")
    if args.model == "lifter":
        from models.lifter.train import train as train_lifter

        print(f"checkpoint: {train_lifter(args.config, resume=args.resume)}")
        return 0
    if args.model == "seqhand":
        from models.seqhand.train import train
    else:
        from models.cadstn.train import train
    ckpt = train(args.config, stage=args.stage, resume=args.resume)
    print(f"checkpoint: {ckpt}")
    return 0
