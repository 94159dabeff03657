"""How precisely does CADSTN read each bone's direction, and why does the thumb's state come out wrong?
(renders only; the real frames are not touched)

    python docs/checks/cadstn_thumb_reading.py --model-path FILE [--config TOML] [--keypoints simulated]

Why: the shipped network reads extended thumbs as bent (docs/checks/cadstn_thumb.py, the SR305 frames). This
tells a blind spot for the thumb from plain imprecision. On held-out realistic crops (generator seed 2000, true
centres, any orientation; with `--config`, also every 50th sequence of that run's cached training crops), per
bone of the thumb and the index finger: its true length, the error of its vector (mm) and the median angle
between read and true direction; then the thumb's bend (the rule's measure, `finger_states.thumb_bend_deg`): the
correlation and slope of read on true, the median bend read for thumbs that are truly extended (true bend < 40°),
and the share of those read extended. A slope well under 1 with bone directions as precise as the index finger's
means the network regresses an uncertain reading to the mean bend, rather than failing to see the thumb.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

BONES = {"thumb CMC–MCP": (1, 2), "thumb MCP–IP": (2, 3), "thumb IP–tip": (3, 4),
         "index MCP–PIP": (5, 6), "index PIP–DIP": (6, 7), "index DIP–tip": (7, 8)}


def report(pred: np.ndarray, gt: np.ndarray) -> str:
    from models.finger_states import THUMB_LIMIT_DEG, thumb_bend_deg

    lines = []
    for name, (a, b) in BONES.items():
        vp, vg = pred[:, b] - pred[:, a], gt[:, b] - gt[:, a]
        cos = (vp * vg).sum(-1) / (np.linalg.norm(vp, axis=-1) * np.linalg.norm(vg, axis=-1) + 1e-9)
        angle = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
        length, error = np.linalg.norm(vg, axis=-1).mean(), np.linalg.norm(vp - vg, axis=-1).mean()
        lines.append(f"  {name:14s} length {length:5.1f} mm, vector error {error:5.1f} mm, "
                     f"direction error median {np.median(angle):5.1f}°")
    read_bend = np.array([thumb_bend_deg(j) for j in pred])
    true_bend = np.array([thumb_bend_deg(j) for j in gt])
    straight = true_bend < THUMB_LIMIT_DEG
    lines.append(f"  thumb bend: correlation {np.corrcoef(read_bend, true_bend)[0, 1]:.2f}, slope of read on true "
                 f"{np.polyfit(true_bend, read_bend, 1)[0]:.2f}, median |read − true| "
                 f"{np.median(np.abs(read_bend - true_bend)):.1f}°")
    if straight.any():
        kept = 100 * np.mean(read_bend[straight] < THUMB_LIMIT_DEG)
        lines.append(f"  thumbs straighter than {THUMB_LIMIT_DEG:.0f}° ({straight.sum()} of {len(gt)} frames): median "
                     f"bend {np.median(true_bend[straight]):.1f}° read as {np.median(read_bend[straight]):.1f}°, "
                     f"read straighter than {THUMB_LIMIT_DEG:.0f}° in {kept:.0f} %")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-path", type=Path, default=Path("weights/cadstn_compact.onnx"))
    parser.add_argument("--config", type=Path, help="also score this run's cached training crops")
    parser.add_argument("--keypoints", choices=("none", "simulated"), default="none")
    parser.add_argument("--seed", type=int, default=2000)
    args = parser.parse_args()

    from models.cadstn.evaluate import EvalOptions, load_eval_crops, load_predictor, read_crops
    from models.cadstn.keypoints import KeypointInputs

    predict, _, cube, size, upright, sigma = load_predictor(args.model_path)
    if args.keypoints == "simulated" and not sigma:
        parser.error(f"{args.model_path.name} takes no keypoints (not an RGB-D CADSTN model)")
    # an RGB-D model reads zero heatmaps without keypoints, as from a depth-only source
    keypoints = KeypointInputs(size, sigma, dropout=0.0 if args.keypoints == "simulated" else 1.0) if sigma else None
    sets = {f"held out (seed {args.seed})": (load_eval_crops(EvalOptions(seed=args.seed), cube, size, upright), 1)}
    if args.config:
        from models.cadstn.config import load_config
        from models.cadstn.data import load_crop_set

        sets["training crops, every 50th sequence"] = (load_crop_set(load_config(args.config), "train"), 50)
    for title, (crops, every) in sets.items():
        outputs, gt = read_crops(predict, crops, keypoints, every=every)
        for name, pred in outputs.items():
            print(f"{title}, {name} ({len(gt)} frames):\n{report(pred, gt)}")


if __name__ == "__main__":
    main()
