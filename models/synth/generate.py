"""Writing a synthetic dataset to shards with several worker processes (what `handstream gen-data` runs).

The pose bank is built once and each worker process is sent the generator holding it; workers are spawned, not
forked: a fork copies the parent's threads' locks in whatever state they are (the parent may have run ONNX
Runtime, MediaPipe or OpenCV threads), and in one full test run a forked worker waited forever on the task
queue's lock. Every shard is a fixed range
of sequence numbers and every sequence depends only on (seed, number), so the result does not depend on the
number of workers or on which worker wrote what, and a rerun after an interruption writes only what is missing.
"""
from __future__ import annotations

import multiprocessing as mp
import os
from dataclasses import dataclass, field
from pathlib import Path

from models.synth import shards
from models.synth.pose_flow import FlowOptions
from models.synth.render_depth import DepthOptions
from models.synth.render_rgb import RgbOptions
from models.synth.sequence import KINDS, SequenceGenerator, SequenceOptions

DEFAULT_BANK_SIZE = 100_000


@dataclass
class GenerateOptions:
    out: Path
    kind: str = "rgb"
    sequences: int = 1000
    frames: int = 10
    size: int = 224
    seed: int = 0
    backgrounds: Path | None = None
    pose_bank: Path | None = None
    bank_size: int = DEFAULT_BANK_SIZE  # procedural bank when no pose_bank file is given
    workers: int = 1
    per_shard: int = 50
    full_frame: bool = False  # depth: 640x480 frames instead of 128x128 crops
    metric: str = "l2"
    compress: bool = True

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        if self.kind not in KINDS:
            raise ValueError(f"--kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        for name in ("sequences", "frames", "workers", "per_shard", "bank_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.size < 16:
            raise ValueError(f"--size must be >= 16 pixels, got {self.size}")
        if self.backgrounds is not None and not Path(self.backgrounds).is_dir():
            raise FileNotFoundError(f"--backgrounds folder {self.backgrounds} does not exist")
        if self.pose_bank is not None and not Path(self.pose_bank).is_file():
            raise FileNotFoundError(f"--pose-bank file {self.pose_bank} does not exist")

    def sequence_options(self) -> SequenceOptions:
        flow = FlowOptions(frames=self.frames, metric=self.metric)
        if self.kind == "rgb":
            return SequenceOptions(kind="rgb", flow=flow, rgb=RgbOptions(size=self.size))
        return SequenceOptions(kind="depth", flow=flow, depth=DepthOptions(size=self.size, full_frame=self.full_frame))


@dataclass
class GenerateResult:
    out: Path
    written: list[Path] = field(default_factory=list)  # shards written by this run
    skipped: int = 0  # shards already complete from an earlier run
    removed_partial: int = 0


def make_generator(options: GenerateOptions) -> SequenceGenerator:
    from models.hand.model import load_hand_model
    from models.synth.backgrounds import Backgrounds
    from models.synth.pose_bank import load_pose_bank, procedural_bank

    model = load_hand_model()
    bank = load_pose_bank(options.pose_bank) if options.pose_bank else \
        procedural_bank(options.bank_size, seed=0, model=model)
    backgrounds = Backgrounds(options.backgrounds, seed=options.seed) if options.kind == "rgb" else None
    return SequenceGenerator(options.sequence_options(), seed=options.seed, bank=bank, backgrounds=backgrounds,
                             model=model)


def manifest(options: GenerateOptions, generator: SequenceGenerator) -> dict:
    seq = options.sequence_options()
    return {
        "format": shards.FORMAT, "version": shards.VERSION, "kind": options.kind, "frames": options.frames,
        "size": options.size, "seed": options.seed, "sequences": options.sequences,
        "sequences_per_shard": options.per_shard, "hand_model": generator.hand_model_name,
        "pose_bank": generator.bank.source, "backgrounds": str(options.backgrounds or "procedural"),
        "image_shape": list(seq.image_shape), "full_frame": options.full_frame, "metric": options.metric,
    }


_worker: dict = {}


def _init_worker(generator: SequenceGenerator, out: Path, compress: bool) -> None:
    _worker.update(generator=generator, out=out, compress=compress)


def _write_one(task: tuple[int, int, int]) -> tuple[int, int]:
    number, start, stop = task
    gen: SequenceGenerator = _worker["generator"]
    records = [gen.sequence(i).to_arrays() for i in range(start, stop)]
    arrays = shards.stack_records(records, list(range(start, stop)))
    shards.write_shard(_worker["out"] / shards.shard_name(number), arrays, compress=_worker["compress"])
    return number, stop - start


def generate_dataset(options: GenerateOptions, progress: bool = True) -> GenerateResult:
    """Write (or finish writing) the dataset described by `options`; see the module docstring."""
    from tqdm import tqdm

    out = options.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"--out folder {out} cannot be created: {exc.strerror}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise OSError(f"--out folder {out} is not writable")
    generator = make_generator(options)
    shards.check_manifest(out, manifest(options, generator))
    result = GenerateResult(out, removed_partial=shards.remove_partial(out))
    tasks = []
    for number, (start, stop) in enumerate(shards.shard_ranges(options.sequences, options.per_shard)):
        if (out / shards.shard_name(number)).is_file():
            result.skipped += 1
        else:
            tasks.append((number, start, stop))
    done_already = options.sequences - sum(b - a for _, a, b in tasks)
    bar = tqdm(total=options.sequences, initial=done_already, unit="seq", desc=f"gen-data {options.kind}",
               disable=not progress)
    try:
        if options.workers == 1 or len(tasks) <= 1:
            _init_worker(generator, out, options.compress)
            for task in tasks:
                number, n = _write_one(task)
                result.written.append(out / shards.shard_name(number))
                bar.update(n)
        else:
            ctx = mp.get_context("spawn")
            with ctx.Pool(min(options.workers, len(tasks)), initializer=_init_worker,
                          initargs=(generator, out, options.compress)) as pool:
                for number, n in pool.imap_unordered(_write_one, tasks):
                    result.written.append(out / shards.shard_name(number))
                    bar.update(n)
    finally:
        bar.close()
    result.written.sort()
    return result
