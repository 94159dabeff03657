"""`handstream pose-bank`: build a pose bank (.npz) for `gen-data --pose-bank`, procedural or from real labels."""
from __future__ import annotations

import argparse
from pathlib import Path

NAME = "pose-bank"
HELP = "build a pose bank from BigHand2.2M / NYU / ICVL joint labels (IK fit) or the anatomical prior"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="source", required=True, metavar="FORMAT:PATH",
                        help="bighand:Training_Annotation.txt | nyu:keypointsUVD.mat | icvl:keypointsUVD.mat | "
                        "procedural:N | straight-thumb:N (open hands, the thumb straight)")
    parser.add_argument("--out", type=Path, required=True, help="bank file to write (.npz)")
    parser.add_argument("--limit", type=int, help="use at most N labels")
    parser.add_argument("--every", type=int, default=1,
                        help="use every N-th label (consecutive frames are near duplicates; default 1)")
    parser.add_argument("--iterations", type=int, default=300, help="IK optimisation steps (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="procedural, straight-thumb: seed (default 0)")
    parser.add_argument("--no-limits", action="store_true",
                        help="fit free axis-angles, not joint angles within the anatomical limits (the banks made "
                        "before hand model 1.3; the joints the labels leave free then twist and fold)")


def run(args: argparse.Namespace) -> int:
    fmt, sep, rest = args.source.partition(":")
    if not sep or not rest:
        raise ValueError(f"--from must be FORMAT:PATH (or procedural:N, straight-thumb:N), got {args.source!r}")
    if args.out.suffix != ".npz":
        raise ValueError(f"--out {args.out} must end in .npz")
    if args.limit is not None and args.limit < 2:
        raise ValueError(f"--limit must be >= 2, got {args.limit}")
    if args.every < 1:
        raise ValueError(f"--every must be >= 1, got {args.every}")
    import numpy as np

    from models.synth.ik import IKOptions
    from models.synth.pose_bank import PROCEDURAL_KINDS, bank_from_labels, procedural_bank

    if fmt in PROCEDURAL_KINDS:
        try:
            n = int(rest)
        except ValueError:
            raise ValueError(f"--from {fmt}:N needs a number of poses, got {rest!r}") from None
        bank = procedural_bank(n, seed=args.seed, kind=fmt)
    else:
        import torch

        torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
        bank = bank_from_labels(fmt, Path(rest), limit=args.limit, every=args.every,
                                options=IKOptions(iterations=args.iterations, anatomical=not args.no_limits))
    bank.save(args.out)
    line = f"{args.out}: {len(bank)} poses from {bank.source}"
    if bank.fit_error_mm is not None:
        e = bank.fit_error_mm
        line += f"; IK fit error mean {e.mean():.1f} mm, median {float(np.median(e)):.1f} mm, max {e.max():.1f} mm"
    print(line)
    return 0

