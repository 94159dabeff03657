"""Training and evaluation data for CADSTN: depth sequences → DeepPrior crops held in memory.

Crops are made once and kept as arrays; a step then samples random frames (spatial stage) or random
windows of T consecutive frames (temporal and fusion stages). Full frames (NYU, ICVL, synthetic full
frames) are cropped around the depth centre of mass, as live; synthetic sequences are rendered as
crops around the hand's joint centroid (much faster) and re-cropped around a centre shifted by
N(0, jitter) per axis in training, so the network tolerates an imprecise centre.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calibration.intrinsics import CameraIntrinsics
from models import depth_crop
from models.cadstn.config import CadstnConfig
from models.synth.sequence import ANY_TILT_DEG


@dataclass
class DepthSequence:
    """Frames of one sequence: full frames (the centre comes from the depth, as live) or crops rendered
    around known centres (`centres_mm` given, one camera per frame in `intrinsics`)."""

    depth: np.ndarray  # (T, H, W) uint16 mm
    joints_mm: np.ndarray  # (T, K, 3) camera mm
    intrinsics: CameraIntrinsics | list[CameraIntrinsics]
    centres_mm: np.ndarray | None = None  # (T, 3)
    detected_px: np.ndarray | None = None  # (T, 21, 2) a colour detector's keypoints in pixels, NaN where it missed


@dataclass
class CropSet:
    """N crops of several sequences; `bounds` are the [start, end) frame ranges of each sequence."""

    depth: np.ndarray  # (N, 1, M, M) float32
    joints: np.ndarray  # (N, K, 3) float32, crop-normalised
    centre_mm: np.ndarray  # (N, 3)
    cube_mm: float
    bounds: np.ndarray  # (S, 2) int64
    angle: np.ndarray | None = None  # (N,) radians each upright crop is turned (depth_crop.DepthCrop.angle)
    keypoints: np.ndarray | None = None  # (N, 21, 2) true 2-D joints in crop coordinates (21-joint layouts)
    # (N, 21, 2) a real detector's keypoints in crop coordinates (NaN: it missed that frame), for the frames
    # where `simulated` is False; the others draw theirs from `keypoints` through the simulated detector
    detected: np.ndarray | None = None
    simulated: np.ndarray | None = None  # (N,) bool

    def __len__(self) -> int:
        return len(self.depth)

    def sample(self, rng: np.random.Generator, batch: int, length: int = 0, keypoints=None
               ) -> tuple[np.ndarray, np.ndarray]:
        """A training batch: `batch` random frames (B, C, M, M) and their joints (B, K, 3), or with `length`
        `batch` windows of that many consecutive frames of one sequence (B, T, C, M, M), (B, T, K, 3). The
        channels are the crop's, then the heatmaps `keypoints` (a `models.cadstn.keypoints.KeypointInputs`)
        draws from this set's true keypoints."""
        idx = self.window_indices(rng, batch, length) if length else rng.integers(0, len(self), batch)[:, None]
        depth, joints = self.depth[idx], self.joints[idx]
        if keypoints is not None:
            if self.keypoints is None:
                raise ValueError("these crops have no 21 keypoints to draw heatmaps from")
            real = None if self.detected is None else (self.detected[idx], self.simulated[idx])
            depth = keypoints(rng, depth, self.keypoints[idx], real)
        return (depth, joints) if length else (depth[:, 0], joints[:, 0])

    def window_indices(self, rng: np.random.Generator, batch: int, length: int) -> np.ndarray:
        """(B, T) frame indices of random windows of `length` frames inside single sequences."""
        lengths = self.bounds[:, 1] - self.bounds[:, 0]
        usable = np.nonzero(lengths >= length)[0]
        if usable.size == 0:
            raise ValueError(f"no sequence has {length} frames (longest: {lengths.max()})")
        seq = rng.choice(usable, batch)
        starts = self.bounds[seq, 0] + rng.integers(0, lengths[seq] - length + 1)
        return starts[:, None] + np.arange(length)[None, :]

    def sequences(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Each whole sequence: crops (T, 1, M, M), normalised joints (T, K, 3), centres (T, 3)."""
        for start, end in self.bounds:
            yield self.depth[start:end], self.joints[start:end], self.centre_mm[start:end]

    def to_mm(self, joints: np.ndarray, start: int = 0) -> np.ndarray:
        """Normalised (T, K, 3) joints of frames start.. → camera mm."""
        centre = self.centre_mm[start:start + len(joints)]
        if self.angle is not None:
            joints = depth_crop.turn_xy(np.asarray(joints, np.float64), self.angle[start:start + len(joints)])
        return joints * (self.cube_mm / 2.0) + centre[:, None, :]


@dataclass(frozen=True)
class AxisOptions:
    """How upright crops are turned (`DataOptions.axis`): by the crop's principal axis, or by the true joints'
    axis plus N(0, noise_deg) with a `crop_share` of crops by the principal axis (the engine's first look)."""

    axis: str = "crop"
    noise_deg: float = 0.0
    crop_share: float = 0.0


def build_crop_set(sequences: Iterable[DepthSequence], cube_mm: float, size: int,
                   jitter_mm: float = 0.0, seed: int = 0, upright: bool = False,
                   axis: AxisOptions = AxisOptions()) -> CropSet:
    """Crop every frame around its depth centre of mass (shifted by N(0, jitter_mm) per axis); `upright`
    turns each crop (and its joints) so the hand points up, as `axis` says."""
    from calibration.projection import project_mm

    rng = np.random.default_rng(seed)
    depths, joints, centres, angles, bounds, keypoints, detected = [], [], [], [], [], [], []
    n = 0
    for seq in sequences:
        start = n
        for t, (depth, target) in enumerate(zip(seq.depth, seq.joints_mm)):
            camera = seq.intrinsics[t] if isinstance(seq.intrinsics, list) else seq.intrinsics
            if seq.centres_mm is not None:
                centre = np.asarray(seq.centres_mm[t], np.float64)
            else:
                try:
                    centre = depth_crop.hand_centre_mm(depth, camera, cube_mm=cube_mm)
                except ValueError:
                    continue  # a frame without the hand in range: unusable for training or testing
            if jitter_mm > 0:
                centre = centre + rng.normal(0.0, jitter_mm, 3)
            pixels = project_mm(target, camera)
            seen = None if seq.detected_px is None else seq.detected_px[t]
            angle = None
            if upright and seen is not None and np.isfinite(seen).all():
                angle = depth_crop.joint_axis_angle(seen)  # as the engine turns an RGB-D frame's crop
            elif upright and axis.axis == "joints" and rng.random() >= axis.crop_share:
                angle = depth_crop.joint_axis_angle(pixels) + np.radians(rng.normal(0.0, axis.noise_deg))
            try:
                crop = depth_crop.crop_depth(depth, centre, camera, cube_mm=cube_mm, size=size, upright=upright,
                                             angle=angle)
            except ValueError:
                continue  # an empty frame
            depths.append(crop.depth[None])
            joints.append(depth_crop.joints_to_crop(target, crop))
            centres.append(crop.centre_mm)
            angles.append(crop.angle)
            if len(target) == 21:
                keypoints.append(depth_crop.pixels_to_crop(pixels, crop))
            if seen is not None:
                detected.append(depth_crop.pixels_to_crop(seen, crop))
            n += 1
        if n > start:
            bounds.append((start, n))
    if n == 0:
        raise ValueError("no usable depth frames (no hand within range in any frame)")
    return CropSet(depth=np.stack(depths).astype(np.float32), joints=np.stack(joints).astype(np.float32),
                   centre_mm=np.stack(centres), cube_mm=float(cube_mm), bounds=np.asarray(bounds, np.int64),
                   angle=np.asarray(angles, np.float64) if upright else None,
                   keypoints=np.stack(keypoints).astype(np.float32) if len(keypoints) == n else None,
                   detected=np.stack(detected).astype(np.float32) if detected and len(detected) == n else None,
                   simulated=np.zeros(n, bool) if detected and len(detected) == n else None)


def join_crop_sets(sets: list[CropSet]) -> CropSet:
    """Several crop sets as one (same cube and crop size); frames of sets without a real detector's keypoints
    draw simulated ones."""
    cubes = {s.cube_mm for s in sets}
    if len(cubes) != 1 or len({s.depth.shape[1:] for s in sets}) != 1:
        raise ValueError("crop sets to join need the same cube and crop size")
    offsets = np.cumsum([0] + [len(s) for s in sets])
    cat = lambda name: np.concatenate([getattr(s, name) for s in sets])  # noqa: E731
    real = any(s.detected is not None for s in sets)
    return CropSet(depth=cat("depth"), joints=cat("joints"), centre_mm=cat("centre_mm"), cube_mm=cubes.pop(),
                   bounds=np.concatenate([s.bounds + o for s, o in zip(sets, offsets)]),
                   angle=cat("angle") if all(s.angle is not None for s in sets) else None,
                   keypoints=cat("keypoints") if all(s.keypoints is not None for s in sets) else None,
                   detected=np.concatenate([s.detected if s.detected is not None else np.zeros_like(s.keypoints)
                                            for s in sets]) if real else None,
                   simulated=np.concatenate([s.simulated if s.detected is not None else np.ones(len(s), bool)
                                             for s in sets]) if real else None)


SIMPLE_SEED_OFFSET = 100  # `simple_sequences`' generator seed: clear of the held-out seeds 1000 and 2000
OFF_HAND_SEED_OFFSET = 200  # `off_hand_sequences`' generator seed, as clear of them
OFF_HAND_SHARE = 0.5  # of the frames of `off_hand_sequences`, the share cut off the hand
# their forearm: longer than a cube cut 40 mm past the wrist sees of it (~165 mm), and short enough to stay in
# front of the camera when it points at it from a hand 350 mm away (the renderer needs every vertex there)
OFF_HAND_FOREARM_MM = 250.0
FULL_FRAME_TILT_DEG = 45.0  # full frames: hands turned at most this far from the camera (a whole arm stays in front)


def synth_sequences(seed: int, count: int, frames: int, cube_mm: float, size: int,
                    full_frame: bool = False, max_tilt_deg: float = ANY_TILT_DEG, pose_banks: list[str] = (),
                    sensor: str = "", off_hand_share: float = 0.0) -> Iterator[DepthSequence]:
    """Synthetic depth sequences of models/synth, rendered directly as crops around the joints' centroid
    (6x faster than full frames; `build_crop_set` re-crops them around a jittered centre), or as full
    640×480 frames with no centre given (`full_frame`: the live situation, arm and wall included, hands
    turned at most FULL_FRAME_TILT_DEG); crops have hands turned at most `max_tilt_deg` (180: any). Flows run
    through the procedural pose bank joined with any real `pose_banks` (.npz); `sensor` picks the depth
    sensor model (`DepthOptions.sensor`, "" for its default; "simple" also leaves out sleeves, bodies and
    tables: the renders of earlier releases, bit for bit); `off_hand_share` of the crops are cut down the arm
    (`DepthOptions.off_hand_share`; those sequences get a longer forearm)."""
    from models.synth.pose_flow import FlowOptions
    from models.synth.render_depth import WHOLE_ARM_MM, DepthOptions, crop_intrinsics
    from models.synth.sequence import SequenceGenerator, SequenceOptions

    flow = FlowOptions(frames=frames)
    depth_options = {"sensor": sensor} if sensor else {}
    if sensor == "simple":
        from models.synth.depth_scene import PLAIN_SCENE

        depth_options["scene"] = PLAIN_SCENE
    if full_frame:  # what a camera sees: an arm leaving the image, a wall that stays put, a hand that faces it
        options = SequenceOptions(kind="depth", flow=flow, max_tilt_deg=FULL_FRAME_TILT_DEG, depth=DepthOptions(
            size=size, cube_mm=cube_mm, full_frame=True, forearm_mm=WHOLE_ARM_MM, static_background=True,
            **depth_options))
    else:
        if off_hand_share > 0:
            depth_options.update(off_hand_share=off_hand_share, forearm_mm=OFF_HAND_FOREARM_MM)
        options = SequenceOptions(kind="depth", flow=flow, max_tilt_deg=max_tilt_deg,
                                  depth=DepthOptions(size=size, cube_mm=cube_mm, **depth_options))
    bank = None
    if pose_banks:
        from models.synth.pose_bank import join_banks, load_pose_bank, procedural_bank
        from models.synth.sequence import DEFAULT_BANK_SIZE

        bank = join_banks([procedural_bank(DEFAULT_BANK_SIZE)] + [load_pose_bank(p) for p in pose_banks])
    generator = SequenceGenerator(options, seed=seed, bank=bank)
    for i in range(count):
        seq = generator.sequence(i)
        truth = seq.truth
        if full_frame:
            yield DepthSequence(seq.depth, truth.joints_3d.astype(np.float64), truth.intrinsics)
            continue
        cameras = [crop_intrinsics(truth.intrinsics, c, cube_mm, size)[0] for c in truth.crop_centre_mm]
        yield DepthSequence(seq.depth, truth.joints_3d.astype(np.float64), cameras,
                            truth.crop_centre_mm.astype(np.float64))


def dataset_sequences(source: str, root: Path, limit: int = 0) -> Iterator[DepthSequence]:
    """NYU (`root`: a split folder holding joint_data.mat, or its parent for the test split) or ICVL
    (`root`: a label file), in chunks of 64 consecutive frames (the datasets' frames are in recorded
    order); `limit` keeps the first N frames."""
    if source == "nyu":
        from models.datasets.nyu import NyuDataset

        root = Path(root)
        split = root.name if (root / "joint_data.mat").is_file() else "test"
        data = NyuDataset(root.parent if split == root.name else root, split)
    elif source == "icvl":
        from models.datasets.icvl import IcvlDataset

        data = IcvlDataset(Path(root))
    else:
        raise ValueError(f"unknown dataset {source!r}; choose nyu or icvl")
    n = len(data) if limit <= 0 else min(limit, len(data))
    chunk = 64
    for start in range(0, n, chunk):
        samples = [data[i] for i in range(start, min(n, start + chunk))]
        yield DepthSequence(np.stack([s.depth for s in samples]), np.stack([s.joints_mm for s in samples]),
                            samples[0].intrinsics)


def load_crop_set(config: CadstnConfig, split: str) -> CropSet:
    """The training (`train`) or held-out (`val`) crops of a config, cached under the run folder; training
    crops with MediaPipe's own keypoints (`detector_shards`) are joined to the synthetic ones."""
    d, m = config.data, config.model
    train = split == "train"
    key = dict(source=d.source, root=d.root, seed=d.seed if train else d.val_seed,
               count=d.sequences if train else d.val_sequences, frames=d.frames, cube=m.cube_mm,
               size=m.crop_size, jitter=d.jitter_mm if train else 0.0, tilt=d.max_tilt_deg, upright=m.upright,
               version=1)
    if d.axis != "crop" or d.pose_banks or d.sensor:  # keys added since: older caches keep their names
        key.update(axis=d.axis, axis_noise=d.axis_noise_deg, crop_axis_share=d.crop_axis_share,
                   pose_banks=d.pose_banks, sensor=d.sensor, version=2)
    axis = AxisOptions(d.axis, d.axis_noise_deg, d.crop_axis_share)

    def build() -> CropSet:
        if d.source == "synth":
            seqs = synth_sequences(key["seed"], key["count"], d.frames, m.cube_mm, m.crop_size,
                                   max_tilt_deg=d.max_tilt_deg, pose_banks=d.pose_banks, sensor=d.sensor)
        else:
            seqs = dataset_sequences(d.source, Path(d.root))
        return build_crop_set(seqs, m.cube_mm, m.crop_size, jitter_mm=key["jitter"], seed=key["seed"],
                              upright=m.upright, axis=axis)

    crops = _cached(Path(config.train.out_dir), split, key, build)

    def more(name: str, offset: int, count: int, keyed: dict, **render) -> CropSet:
        """`count` more synthetic training sequences (generator seed `seed` + `offset`) rendered with `render`
        (`synth_sequences` options), cached under `name` with `keyed` in their key."""
        extra = dict(key, seed=d.seed + offset, count=count, **keyed)
        return _cached(Path(config.train.out_dir), name, extra, lambda: build_crop_set(
            synth_sequences(extra["seed"], count, d.frames, m.cube_mm, m.crop_size, max_tilt_deg=d.max_tilt_deg,
                            pose_banks=d.pose_banks, **render),
            m.cube_mm, m.crop_size, jitter_mm=d.jitter_mm, seed=extra["seed"], upright=m.upright, axis=axis))

    if train and d.simple_sequences and d.source == "synth":
        crops = join_crop_sets([crops, more("simple", SIMPLE_SEED_OFFSET, d.simple_sequences, {"sensor": "simple"},
                                            sensor="simple")])
    if train and d.off_hand_sequences and d.source == "synth":
        crops = join_crop_sets([crops, more(
            "off_hand", OFF_HAND_SEED_OFFSET, d.off_hand_sequences,
            {"off_hand": OFF_HAND_SHARE, "off_hand_forearm": OFF_HAND_FOREARM_MM},
            sensor=d.sensor, off_hand_share=OFF_HAND_SHARE)])
    if not (train and d.detector_shards):
        return crops
    from models.cadstn.detector_crops import mediapipe_crop_set

    shard_key = dict(key, shards=str(Path(d.detector_shards).resolve()), limit=d.detector_sequences,
                     hand_model=d.detector_hand_model, version=3)
    real = _cached(Path(config.train.out_dir), "mediapipe", shard_key, lambda: mediapipe_crop_set(
        d.detector_shards, m.cube_mm, m.crop_size, d.jitter_mm, axis, seed=d.seed, limit=d.detector_sequences,
        hand_model_path=Path(d.detector_hand_model) if d.detector_hand_model else None))
    return join_crop_sets([crops, real])


CACHED = ("angle", "keypoints", "detected", "simulated")  # the optional arrays a cached crop set may hold


def _cached(out_dir: Path, name: str, key: dict, build) -> CropSet:
    """The crop set `build` makes, kept in `out_dir/cache/` under a digest of `key`."""
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    cache = out_dir / "cache" / f"{name}_{digest}.npz"
    if cache.is_file():
        z = np.load(cache)
        return CropSet(z["depth"], z["joints"], z["centre_mm"], float(z["cube_mm"]), z["bounds"],
                       **{k: z[k] for k in CACHED if k in z})
    crops = build()
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.stem + ".tmp.npz")
    extra = {k: getattr(crops, k) for k in CACHED if getattr(crops, k) is not None}
    np.savez(tmp, depth=crops.depth, joints=crops.joints, centre_mm=crops.centre_mm,
             cube_mm=crops.cube_mm, bounds=crops.bounds, **extra)
    tmp.replace(cache)
    return crops
