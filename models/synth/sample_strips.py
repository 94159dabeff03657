"""Sample strips of synthetic sequences for the docs (docs/synth/*.png), reproducibly.

    python -m models.synth.sample_strips --out docs/synth

One row per sequence, frames left to right; the second RGB row repeats the first with its 2-D joints and
mask outline drawn, so the labels can be checked by eye. Depth crops are colour-mapped over the 250 mm cube.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from models.synth.sequence import SequenceGenerator, SequenceOptions

BONES = [(0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11), (11, 12),
         (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20)]


def draw_labels(image: np.ndarray, joints_2d: np.ndarray, mask: np.ndarray) -> np.ndarray:
    import cv2

    out = image.copy()
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, (255, 255, 0), 1)
    pts = [tuple(int(round(v)) for v in p) for p in joints_2d]
    for a, b in BONES:
        cv2.line(out, pts[a], pts[b], (0, 255, 0), 1, cv2.LINE_AA)
    for p in pts:
        cv2.circle(out, p, 2, (255, 0, 0), -1, cv2.LINE_AA)
    return out


def depth_colour(depth: np.ndarray, centre_z: float, cube_mm: float = 250.0) -> np.ndarray:
    import cv2

    d = depth.astype(np.float32)
    norm = np.clip((d - (centre_z - cube_mm / 2)) / cube_mm, 0, 1)
    img = cv2.applyColorMap((255 - norm * 255).astype(np.uint8), cv2.COLORMAP_TURBO)[..., ::-1]
    img[d == 0] = 0
    return img


def write_strips(out: Path, seed: int = 2026, sequences: int = 3) -> list[Path]:
    import cv2

    out.mkdir(parents=True, exist_ok=True)
    rgb_gen = SequenceGenerator(SequenceOptions(kind="rgb"), seed=seed)
    rows = []
    for i in range(sequences):
        seq = rgb_gen.sequence(i)
        rows.append(np.concatenate(list(seq.rgb), axis=1))
        if i == 0:
            rows.append(np.concatenate([draw_labels(im, j, m) for im, j, m in
                                        zip(seq.rgb, seq.truth.joints_2d, seq.truth.mask)], axis=1))
    rgb = np.concatenate(rows, axis=0)
    rgb = cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA)
    depth_gen = SequenceGenerator(SequenceOptions(kind="depth"), seed=seed, bank=rgb_gen.bank, model=rgb_gen.model)
    rows = []
    for i in range(sequences):
        seq = depth_gen.sequence(i)
        rows.append(np.concatenate([depth_colour(d, c[2]) for d, c in zip(seq.depth, seq.truth.crop_centre_mm)], 1))
    depth = np.concatenate(rows, axis=0)
    paths = [out / "rgb_sequences.png", out / "depth_sequences.png"]
    for path, img in zip(paths, (rgb, depth)):
        if not cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
            raise OSError(f"cannot write {path}")
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/synth"))
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    for path in write_strips(args.out, args.seed):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
