"""Sample strips of synthetic sequences for the docs (docs/synth/*.png), reproducibly.

    python -m models.synth.sample_strips --out docs/synth

One row per sequence, frames left to right; the second RGB row repeats the first with its 2-D joints and
mask outline drawn, so the labels can be checked by eye. Depth crops are colour-mapped over the 250 mm cube.
`depth_sensors.png` puts crops of the real SR305 frames (shared/data/real-hands, evaluation only) above
renders of each depth sensor profile at the same distance, as the network sees them (missing and out of the
cube black).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from models.hand.skeleton import KEYPOINT_BONES
from models.synth.depth_sensor import SENSORS
from models.synth.sequence import SequenceGenerator, SequenceOptions

REAL_HANDS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real-hands"



def draw_labels(image: np.ndarray, joints_2d: np.ndarray, mask: np.ndarray) -> np.ndarray:
    import cv2

    out = image.copy()
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, (255, 255, 0), 1)
    pts = [tuple(int(round(v)) for v in p) for p in joints_2d]
    for a, b in KEYPOINT_BONES:
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


def cube_colour(normed: np.ndarray) -> np.ndarray:
    """A crop normalised to [−1, 1] over the cube (`models.depth_crop`), +1 (missing or beyond) black."""
    import cv2

    img = cv2.applyColorMap((255 - (np.clip(normed, -1, 1) + 1) * 127.5).astype(np.uint8), cv2.COLORMAP_TURBO)
    img = img[..., ::-1].copy()
    img[normed >= 1.0] = 0
    return img


def real_crops(root: Path, count: int, cube_mm: float = 250.0, size: int = 128) -> tuple[list[np.ndarray], list[float]]:
    """Normalised crops of `count` SR305 frames around the hand the engine's depth detector finds, and the
    hands' distances (mm)."""
    from calibration.projection import back_project_mm
    from engine.detect_depth import DepthHandDetector
    from engine.real_depth import SR305, depth_sequences, load_sr305
    from models.depth_crop import crop_depth

    frames = [f for fs in depth_sequences(root).values() for f in fs]
    crops, distances = [], []
    for path in frames[:: max(1, len(frames) // count)]:
        depth = load_sr305(path)
        found = DepthHandDetector(max_hands=1).detect(depth, SR305.fx, SR305.fy)
        if not found:
            continue
        u, v, z = found[0].centre_uvz
        centre = back_project_mm(np.array([u, v]), z, SR305)
        crops.append(crop_depth(depth, centre, SR305, cube_mm=cube_mm, size=size).depth)
        distances.append(float(z))
    return crops[:count], distances[:count]


def write_sensor_strip(out: Path, seed: int = 2026, count: int = 6, root: Path = REAL_HANDS) -> Path:
    """Real SR305 crops (first row) over synthetic crops of each sensor profile (same hands in every row)."""
    import cv2

    from models.synth.depth_scene import SceneOptions
    from models.synth.pose_flow import FlowOptions
    from models.synth.render_depth import DepthOptions

    real, distances = real_crops(root, count)
    near, far = float(np.min(distances)), float(np.max(distances))
    rows, labels = [np.concatenate([cube_colour(c) for c in real], axis=1)], ["real SR305"]
    scene = SceneOptions(sleeve=0.5, body=0.7, table=0.2)
    for sensor in [s for s in SENSORS if s != "mixed"]:
        depth = DepthOptions(size=128, distance_mm=(near, far), sensor=sensor, scene=scene)
        gen = SequenceGenerator(SequenceOptions(kind="depth", flow=FlowOptions(frames=2), depth=depth,
                                                max_tilt_deg=40.0), seed=seed)
        tiles = []
        for i in range(count):
            seq = gen.sequence(i)
            c = seq.truth.crop_centre_mm[0]
            d = seq.depth[0].astype(np.float32)
            normed = (d - np.float32(c[2])) / np.float32(125.0)
            normed[(d <= 0) | (np.abs(normed) > 1)] = 1.0
            tiles.append(cube_colour(normed))
        rows.append(np.concatenate(tiles, axis=1))
        labels.append(sensor)
    strip = np.concatenate(rows, axis=0)
    for r, label in enumerate(labels):
        cv2.putText(strip, label, (4, r * 128 + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1,
                    cv2.LINE_AA)
    path = out / "depth_sensors.png"
    if not cv2.imwrite(str(path), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR)):
        raise OSError(f"cannot write {path}")
    return path


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
    parser.add_argument("--only-sensors", action="store_true", help="only depth_sensors.png")
    args = parser.parse_args(argv)
    paths = [] if args.only_sensors else write_strips(args.out, args.seed)
    for path in [*paths, write_sensor_strip(args.out, args.seed)]:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
