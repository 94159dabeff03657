"""The real-image check: do the shipped models see real hands, not only our renders?

Real photos (``shared/data/real-hands``: sign digits 0-9 and HandsDataset's counts of raised fingers) carry no
joint labels, only which fingers are extended (the folder's SR305 depth frames: `engine.real_depth`). Each
model's joints go through `models.finger_states` and are compared with that label; MediaPipe's own world
landmarks go through the same rule as the reference row, so a low score says "the model", not "the rule" or
"the photos".

Everything runs through the live engine (`engine.stream.StreamingEngine`), one photo per fresh sequence
(``stills``), so the numbers describe what a user gets. These files are for evaluation only: nothing may
train or tune on them (the folder's README says why).
"""
from __future__ import annotations

import csv
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.estimators import kinds_reading
from engine.frames import Frame
from engine.sources import RGB_MODEL
from models.finger_states import DIGIT_EXTENDED, HANDS_CLASS_COUNT, LONG_FINGERS, FingerStates, finger_states

REAL_HANDS_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-hands"
DIGITS, HANDS = "digits", "hands"
DIGIT_PAD_PX = 50     # replicated border around a 100x100 digit photo: the palm detector needs context
DIGIT_SIZE = 400      # ... and then a size it finds hands at
NO_HAND = "no hand"


def check_root(root: Path, sub: str) -> Path:
    """``root/sub`` if present; otherwise a one-line error naming where the photos were looked for."""
    path = Path(root) / sub
    if not path.exists():
        raise FileNotFoundError(f"real-hands data not found: {path} is missing (pass --root, the folder with "
                                "signdigits/, handsdataset/ and depth-sr305/)")
    return path


# -- the photos -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Photo:
    """One real photo: ``kind`` digits or hands, ``file`` relative to ``root``, ``label`` the sign digit or
    HandsDataset's count of raised fingers, ``box`` HandsDataset's labelled hand (x0, y0, x1, y1) px."""

    kind: str
    root: Path
    file: str
    label: int
    box: tuple[float, float, float, float] | None = None

    @property
    def path(self) -> Path:
        return self.root / self.file


def spread(photos: list[Photo], limit: int) -> list[Photo]:
    """The first ``limit`` photos taken in turn from each class (0 = all): a small run still sees every label."""
    if limit <= 0 or limit >= len(photos):
        return list(photos)
    by_label: dict[int, list[Photo]] = defaultdict(list)
    for photo in photos:
        by_label[photo.label].append(photo)
    queues = [by_label[label] for label in sorted(by_label)]
    chosen: list[Photo] = []
    for k in range(max(len(q) for q in queues)):
        chosen.extend(q[k] for q in queues if k < len(q))
    return chosen[:limit]


def digit_photos(root: Path = REAL_HANDS_DIR, limit: int = 0) -> list[Photo]:
    """All sign-digit photos (``signdigits/Dataset/<d>/*.JPG``), by digit then file name."""
    folder = check_root(root, "signdigits/Dataset")
    photos = [Photo(DIGITS, Path(root), str(p.relative_to(root)), digit)
              for digit in range(10) for p in sorted((folder / str(digit)).glob("*.JPG"))]
    if not photos:
        raise FileNotFoundError(f"no sign-digit photos in {folder}")
    return spread(photos, limit)


def hands_photos(root: Path = REAL_HANDS_DIR, limit: int = 0) -> list[Photo]:
    """HandsDataset's test photos with exactly one labelled hand, by file name."""
    labels = check_root(root, "handsdataset/data/test_labels.csv")
    boxes: dict[str, list[dict[str, str]]] = defaultdict(list)
    with labels.open(newline="") as f:
        for row in csv.DictReader(f):
            boxes[row["filename"]].append(row)
    photos = []
    for name in sorted(boxes):
        if len(boxes[name]) != 1:
            continue
        row = boxes[name][0]
        if row["class"] not in HANDS_CLASS_COUNT:
            raise ValueError(f"{labels}: unknown class {row['class']!r} for {name}")
        box = tuple(float(row[k]) for k in ("xmin", "ymin", "xmax", "ymax"))
        photos.append(Photo(HANDS, Path(root), f"handsdataset/images/{name}", HANDS_CLASS_COUNT[row["class"]], box))
    return spread(photos, limit)


def pad_digit(rgb: np.ndarray) -> np.ndarray:
    """A 100x100 digit photo with 50 px of replicated border, scaled to 400x400 bicubically: the README's
    MediaPipe figures (97.6 % / 92.4 %) are reproduced exactly so; bilinear scaling gives 98.0 % / 93.4 %."""
    import cv2

    padded = cv2.copyMakeBorder(rgb, DIGIT_PAD_PX, DIGIT_PAD_PX, DIGIT_PAD_PX, DIGIT_PAD_PX, cv2.BORDER_REPLICATE)
    return cv2.resize(padded, (DIGIT_SIZE, DIGIT_SIZE), interpolation=cv2.INTER_CUBIC)


def load_photo(photo: Photo) -> np.ndarray:
    """The photo as the engine is given it: HxWx3 uint8 RGB (digits padded and scaled)."""
    import cv2

    bgr = cv2.imread(str(photo.path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read photo {photo.path}")
    rgb = np.ascontiguousarray(bgr[..., ::-1])
    return pad_digit(rgb) if photo.kind == DIGITS else rgb


# -- predictions and scores --------------------------------------------------------------------------
@dataclass
class PhotoPrediction:
    """What one system saw in one photo: finger states and 2-D joints (px in the image as fed), or None."""

    photo: Photo
    states: FingerStates | None
    joints_2d: np.ndarray | None = None

    @property
    def found(self) -> bool:
        return self.states is not None

    @property
    def long_right(self) -> int:
        """Digits: how many of the 4 long-finger states are right (0 when no hand was found)."""
        if self.states is None:
            return 0
        truth = DIGIT_EXTENDED[self.photo.label].long_fingers
        return sum(a == b for a, b in zip(self.states.long_fingers, truth))

    @property
    def right(self) -> bool:
        """Digits: all four long fingers right; HandsDataset: the count of extended fingers right."""
        if self.states is None:
            return False
        if self.photo.kind == DIGITS:
            return self.long_right == 4
        return self.states.count == self.photo.label

    def to_dict(self) -> dict:
        return {"file": self.photo.file, "label": self.photo.label,
                "states": None if self.states is None else self.states.pattern(), "right": self.right}


def _share(hits: float, total: int) -> float:
    return float(hits) / total if total else float("nan")


LONG_PATTERNS = tuple(FingerStates(False, *(bool(b >> k & 1) for k in (3, 2, 1, 0))).pattern(thumb=False)
                      for b in range(16))


@dataclass
class RealHandsScores:
    """One system's row. Shares are 0-1. ``digits_finger_confusion``: per long finger [[labelled bent:
    predicted bent, extended], [labelled extended: bent, extended]], a photo without a hand counted in the
    wrong column; ``digits_confusion``: true digit x predicted long-finger pattern (`LONG_PATTERNS`, then no
    hand); ``hands_confusion``: true count 0-5 x predicted count 0-5, then no hand."""

    name: str
    digits_photos: int
    digits_long_finger: float
    digits_all_four: float
    hands_photos: int
    hands_count: float
    found: int
    photos: int
    seconds: float
    digits_per_digit_long_finger: list[float]
    digits_finger_confusion: dict[str, list[list[int]]]
    digits_confusion: list[list[int]]
    hands_confusion: list[list[int]]
    predictions: list[PhotoPrediction] = field(repr=False, default_factory=list)

    def to_dict(self) -> dict:
        numbers = {k: v for k, v in self.__dict__.items() if k != "predictions"}
        numbers["digits_confusion_columns"] = [*LONG_PATTERNS, NO_HAND]
        numbers["hands_confusion_columns"] = [*map(str, range(6)), NO_HAND]
        numbers["predictions"] = [p.to_dict() for p in self.predictions]
        return numbers


def score(name: str, predictions: list[PhotoPrediction], seconds: float = 0.0) -> RealHandsScores:
    """The README's scores and confusion tables of one system's predictions."""
    digits = [p for p in predictions if p.photo.kind == DIGITS]
    hands = [p for p in predictions if p.photo.kind == HANDS]
    per_digit = []
    confusion = [[0] * (len(LONG_PATTERNS) + 1) for _ in range(10)]
    fingers = {f: [[0, 0], [0, 0]] for f in LONG_FINGERS}
    for p in digits:
        truth = DIGIT_EXTENDED[p.photo.label].long_fingers
        column = LONG_PATTERNS.index(p.states.pattern(thumb=False)) if p.found else len(LONG_PATTERNS)
        confusion[p.photo.label][column] += 1
        for k, finger in enumerate(LONG_FINGERS):
            said = p.states.long_fingers[k] if p.found else not truth[k]
            fingers[finger][int(truth[k])][int(said)] += 1
    for digit in range(10):
        of_digit = [p for p in digits if p.photo.label == digit]
        per_digit.append(_share(sum(p.long_right for p in of_digit), 4 * len(of_digit)))
    counts = [[0] * 7 for _ in range(6)]
    for p in hands:
        counts[p.photo.label][p.states.count if p.found else 6] += 1
    return RealHandsScores(
        name=name, digits_photos=len(digits),
        digits_long_finger=_share(sum(p.long_right for p in digits), 4 * len(digits)),
        digits_all_four=_share(sum(p.right for p in digits), len(digits)),
        hands_photos=len(hands), hands_count=_share(sum(p.right for p in hands), len(hands)),
        found=sum(p.found for p in predictions), photos=len(predictions), seconds=seconds,
        digits_per_digit_long_finger=per_digit, digits_finger_confusion=fingers, digits_confusion=confusion,
        hands_confusion=counts, predictions=list(predictions))


def predict_engine(photos: list[Photo], model: str = RGB_MODEL,
                   model_path: Path | None = None) -> list[PhotoPrediction]:
    """Each photo through the live engine as a fresh one-frame sequence; the rule on its camera-space joints."""
    from engine.stream import EngineOptions, StreamingEngine

    out = []
    options = EngineOptions(model=model, model_path=model_path, stills=True, max_hands=1, vertices=False)
    with StreamingEngine(options) as engine:
        for i, photo in enumerate(photos):
            result = engine.process(Frame(index=i, timestamp=i / 30.0, rgb=load_photo(photo)))
            hand = result.hands[0] if result.hands else None
            out.append(PhotoPrediction(photo, None if hand is None else finger_states(hand.joints_3d),
                                       None if hand is None else np.asarray(hand.joints_2d, np.float32)))
    return out


def predict_mediapipe(photos: list[Photo]) -> list[PhotoPrediction]:
    """MediaPipe's metric world landmarks through the same rule (its HandLandmarker in IMAGE mode, one hand): the
    reference row."""
    from models.mediapipe_hands import MediaPipeHands

    detector = MediaPipeHands(max_hands=1, stills=True)
    out = []
    try:
        for i, photo in enumerate(photos):
            found = detector.detect(load_photo(photo), i / 30.0)
            det = found[0] if found and found[0].world is not None else None
            out.append(PhotoPrediction(photo, None if det is None else finger_states(det.world),
                                       None if det is None else det.landmarks.astype(np.float32)))
    finally:
        detector.close()
    return out


@dataclass
class RealHandsOptions:
    """``model``: a colour model kind (``kinds_reading("rgb")``), ``model_path`` None for the shipped file;
    ``limit``: the first N photos of each set, taken in turn from its classes (0 = all);
    ``mediapipe``: also score MediaPipe's own landmarks, the reference row."""

    root: Path = REAL_HANDS_DIR
    model: str = RGB_MODEL
    model_path: Path | None = None
    limit: int = 0
    mediapipe: bool = True


@dataclass
class RealHandsReport:
    """The model's row, then MediaPipe's (when asked for), and the wall time of the whole check."""

    rows: list[RealHandsScores]
    seconds: float

    def table(self) -> str:
        lines = [f"{'system':<12} {'digits long-finger':>18} {'all-four':>9} {'HandsDataset count':>18} "
                 f"{'hands found':>12} {'seconds':>8}"]
        for r in self.rows:
            lines.append(f"{r.name:<12} {100 * r.digits_long_finger:>17.1f}% {100 * r.digits_all_four:>8.1f}% "
                         f"{100 * r.hands_count:>17.1f}% {f'{r.found}/{r.photos}':>12} {r.seconds:>8.1f}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"seconds": self.seconds, "rows": {r.name: r.to_dict() for r in self.rows}}


def evaluate_real_hands(options: RealHandsOptions | None = None) -> RealHandsReport:
    """Score the model (and MediaPipe) on the sign digits and HandsDataset's one-hand photos."""
    o = options or RealHandsOptions()
    kinds = kinds_reading("rgb")
    if o.model not in kinds:
        raise ValueError(f"real-hands photos are colour: --model must be one of {', '.join(kinds)}, got {o.model!r}"
                         + (" (it reads depth only; try --data real-depth)"
                            if o.model in kinds_reading("depth") else ""))
    start = time.perf_counter()
    photos = digit_photos(o.root, o.limit) + hands_photos(o.root, o.limit)
    rows = []
    t0 = time.perf_counter()
    rows.append(score(o.model, predict_engine(photos, o.model, o.model_path), time.perf_counter() - t0))
    if o.mediapipe:
        t0 = time.perf_counter()
        rows.append(score("mediapipe", predict_mediapipe(photos), time.perf_counter() - t0))
    return RealHandsReport(rows, time.perf_counter() - start)
