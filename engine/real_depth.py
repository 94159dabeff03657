"""The real-image check on depth: the SR305 frames of ``shared/data/real-hands/depth-sr305`` through the engine.

Two short sequences of a right hand (Intel SR305, 640x480): ``20210326-230536`` holds an open hand, all five
fingers stretched apart and turning in the image plane, so a model that sees it should call all five extended
(`models.finger_states`); ``20210326-231615`` is another gesture, reported frame by frame only. Each sequence
runs in frame order as one sequence, as a live camera would feed it (the recurrent state carries over).
For evaluation only, like the photos (`engine.real_hands`).
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calibration.intrinsics import CameraIntrinsics
from engine.estimators import kinds_reading
from engine.frames import Frame
from engine.real_hands import NO_HAND, REAL_HANDS_DIR, check_root
from models.finger_states import FingerStates, finger_states

# Intel SR305 as recorded in depth-sr305 (its readme.txt): one unit is 0.125 mm.
SR305_MM_PER_UNIT = 0.125
SR305 = CameraIntrinsics(fx=476.007, fy=476.007, cx=313.683, cy=242.755, width=640, height=480)
OPEN_HAND_SEQUENCE = "20210326-230536"  # right hand, all five fingers stretched apart, turning in the image plane


def depth_sequences(root: Path = REAL_HANDS_DIR) -> dict[str, list[Path]]:
    """``depth-sr305/<sequence>/<frame>.png`` by sequence name, frames in recording order (numeric)."""
    folder = check_root(root, "depth-sr305")
    sequences = {}
    for seq in sorted(p for p in folder.iterdir() if p.is_dir()):
        frames = sorted(seq.glob("*.png"), key=lambda p: int(p.stem) if p.stem.isdigit() else p.stem)
        if frames:
            sequences[seq.name] = frames
    if not sequences:
        raise FileNotFoundError(f"no depth sequences in {folder}")
    return sequences


def load_sr305(path: Path) -> np.ndarray:
    """An SR305 frame as the engine wants depth: HxW uint16 millimetres (0 = no reading)."""
    import cv2

    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.dtype != np.uint16 or raw.ndim != 2:
        raise ValueError(f"{path} is not a 16-bit depth image")
    return np.rint(raw.astype(np.float32) * SR305_MM_PER_UNIT).astype(np.uint16)


@dataclass
class DepthPrediction:
    """One depth frame: finger states and 2-D joints (px), the crop box, or None when no hand was found."""

    sequence: str
    file: str
    states: FingerStates | None
    joints_2d: np.ndarray | None = None
    box: tuple[float, float, float, float] | None = None

    def to_dict(self) -> dict:
        return {"sequence": self.sequence, "file": self.file,
                "states": None if self.states is None else self.states.pattern()}


@dataclass
class RealDepthOptions:
    """``model``: a depth model kind (``kinds_reading("depth")``), ``model_path`` None for the shipped file."""

    root: Path = REAL_HANDS_DIR
    model: str = "cadstn"
    model_path: Path | None = None


@dataclass
class RealDepthReport:
    """Per-frame states of both sequences; the open-hand sequence scored as frames with all five extended."""

    model: str
    open_hand_frames: int
    open_hand_all_five: int
    predictions: list[DepthPrediction]
    seconds: float

    def summary(self) -> str:
        lines = [f"{self.model} on {OPEN_HAND_SEQUENCE} (open hand): all five extended in "
                 f"{self.open_hand_all_five}/{self.open_hand_frames} frames"]
        by_seq: dict[str, list[str]] = defaultdict(list)
        for p in self.predictions:
            by_seq[p.sequence].append(f"{Path(p.file).stem}:{p.states.pattern() if p.states else NO_HAND}")
        for seq, frames in by_seq.items():
            lines.append(f"  {seq}: " + " ".join(frames))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"model": self.model, "open_hand_sequence": OPEN_HAND_SEQUENCE,
                "open_hand_frames": self.open_hand_frames, "open_hand_all_five": self.open_hand_all_five,
                "seconds": self.seconds, "predictions": [p.to_dict() for p in self.predictions]}


def evaluate_real_depth(options: RealDepthOptions | None = None) -> RealDepthReport:
    """Each SR305 sequence through the engine in frame order, as one sequence (the recurrent state carries)."""
    from engine.stream import EngineOptions, StreamingEngine

    o = options or RealDepthOptions()
    kinds = kinds_reading("depth")
    if o.model not in kinds:
        raise ValueError(f"real-depth frames have no colour: --model must be one of {', '.join(kinds)}, "
                         f"got {o.model!r}")
    start = time.perf_counter()
    sequences = depth_sequences(o.root)
    predictions = []
    options = EngineOptions(model=o.model, model_path=o.model_path, max_hands=1, vertices=False)
    with StreamingEngine(options) as engine:
        for name, frames in sequences.items():
            engine.reset()  # a new sequence: fresh tracks and recurrent state
            for i, path in enumerate(frames):
                number = int(path.stem) if path.stem.isdigit() else i
                result = engine.process(Frame(index=i, timestamp=number / 30.0, depth=load_sr305(path),
                                              intrinsics=SR305))
                hand = result.hands[0] if result.hands else None
                predictions.append(DepthPrediction(
                    name, str(path.relative_to(o.root)), None if hand is None else finger_states(hand.joints_3d),
                    None if hand is None else np.asarray(hand.joints_2d, np.float32),
                    None if hand is None else tuple(float(v) for v in hand.box)))
    open_hand = [p for p in predictions if p.sequence == OPEN_HAND_SEQUENCE]
    return RealDepthReport(o.model, len(open_hand),
                           sum(p.states is not None and p.states.count == 5 for p in open_hand),
                           predictions, time.perf_counter() - start)
