"""Generation speed: frames per second of the synthetic sequence generator, all worker processes together.

What `handstream bench gen` reports. Set-up (hand model, pose bank, KD-tree, background textures) happens
before the clock starts, in every worker; the clock covers generating `sequences` sequences in memory
(no disk writes), split over `workers` forked processes. Each worker also counts the CPU time it spent, so
on a shared, overloaded machine `frames_per_cpu_second × cores` estimates what the machine does alone.
"""
from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass

from models.synth.pose_flow import FlowOptions
from models.synth.render_depth import DepthOptions
from models.synth.render_rgb import RgbOptions
from models.synth.sequence import KINDS, SequenceGenerator, SequenceOptions


@dataclass
class GenerationSpeed:
    kind: str
    size: int
    workers: int
    sequences: int
    frames: int  # frames generated in total
    seconds: float  # wall clock
    cpu_seconds: float  # CPU time of all workers together

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")

    @property
    def frames_per_cpu_second(self) -> float:
        return self.frames / self.cpu_seconds if self.cpu_seconds > 0 else float("inf")


_generator: SequenceGenerator | None = None


def _init(generator: SequenceGenerator) -> None:
    global _generator
    _generator = generator


def _frames(index: int) -> tuple[int, float]:
    """Frames of sequence `index` and the CPU seconds this process spent making them."""
    assert _generator is not None
    start = time.process_time()
    frames = int(_generator.sequence(index).truth.joints_2d.shape[0])
    return frames, time.process_time() - start


def measure_generation(kind: str = "rgb", size: int | None = None, workers: int = 2, sequences: int = 64,
                       frames: int = 10, bank_size: int = 20_000, seed: int = 0) -> GenerationSpeed:
    """Generate `sequences` sequences of `frames` frames with `workers` processes and time it."""
    from models.hand.model import load_hand_model
    from models.synth.pose_bank import procedural_bank

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if workers < 1 or sequences < 1 or frames < 1:
        raise ValueError(f"workers, sequences and frames must be >= 1, got {workers}, {sequences}, {frames}")
    size = size or (224 if kind == "rgb" else 128)
    flow = FlowOptions(frames=frames)
    options = SequenceOptions(kind=kind, flow=flow, rgb=RgbOptions(size=size), depth=DepthOptions(size=size))
    model = load_hand_model()
    generator = SequenceGenerator(options, seed=seed, bank=procedural_bank(bank_size, model=model), model=model)
    generator.sequence(0)  # warm caches
    if workers == 1:
        _init(generator)
        start = time.perf_counter()
        done = [_frames(i) for i in range(sequences)]
        seconds = time.perf_counter() - start
        return GenerationSpeed(kind, size, 1, sequences, sum(f for f, _ in done), seconds, sum(c for _, c in done))
    with mp.get_context("spawn").Pool(workers, initializer=_init, initargs=(generator,)) as pool:  # as gen-data
        pool.map(_frames, range(workers), chunksize=1)  # every worker up and warm
        start = time.perf_counter()
        done = pool.map(_frames, range(sequences), chunksize=max(1, sequences // (4 * workers)))
        seconds = time.perf_counter() - start
    return GenerationSpeed(kind, size, workers, sequences, sum(f for f, _ in done), seconds, sum(c for _, c in done))
