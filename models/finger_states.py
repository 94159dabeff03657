"""Which fingers a 21-joint hand holds extended: the rule that scores models on real photos without joint labels.

Why a rule on joints: the real photos in ``shared/data/real-hands`` carry only a gesture label (a sign digit,
a count of raised fingers), and any joint estimate — ours in camera millimetres, MediaPipe's world
landmarks in metres — can be turned into the same five booleans and compared with it. The rule uses only
angles between bones and ratios of distances, so it ignores scale, origin, rotation and mirroring.

Rule (shared/data/real-hands/README.md), joints in the OP21 / MediaPipe order:
- a long finger (MCP, PIP, DIP, TIP) is extended iff angle(PIP−MCP, DIP−PIP) + angle(DIP−PIP, TIP−DIP) < 60°
  and |TIP−wrist| > |PIP−wrist|;
- the thumb (CMC, MCP, IP, TIP) is extended iff angle(MCP−CMC, TIP−IP) < 40° and the tip is farther from
  the index MCP (5) than the thumb MCP (2) is.
"""
from __future__ import annotations

from dataclasses import astuple, dataclass

import numpy as np

BEND_LIMIT_DEG = 60.0
THUMB_LIMIT_DEG = 40.0
WRIST, INDEX_MCP = 0, 5
THUMB = (1, 2, 3, 4)  # CMC, MCP, IP, TIP
LONG_FINGERS = {"index": (5, 6, 7, 8), "middle": (9, 10, 11, 12), "ring": (13, 14, 15, 16),
                "pinky": (17, 18, 19, 20)}
LETTERS = "TIMRP"  # thumb, index, middle, ring, pinky: how patterns are written


@dataclass(frozen=True)
class FingerStates:
    """Extended (True) or not, per finger."""

    thumb: bool
    index: bool
    middle: bool
    ring: bool
    pinky: bool

    def as_tuple(self) -> tuple[bool, bool, bool, bool, bool]:
        return astuple(self)

    @property
    def long_fingers(self) -> tuple[bool, bool, bool, bool]:
        return self.as_tuple()[1:]

    @property
    def count(self) -> int:
        """Extended fingers, thumb included (HandsDataset's label)."""
        return sum(self.as_tuple())

    def pattern(self, thumb: bool = True) -> str:
        """Letters of the extended fingers, '·' for the others: 'TIM··' (or 'IM··' without the thumb)."""
        text = "".join(c if on else "·" for c, on in zip(LETTERS, self.as_tuple()))
        return text if thumb else text[1:]

    @classmethod
    def from_letters(cls, letters: str) -> FingerStates:
        """'IM' + thumb written 'TIM': the fingers named are extended, the others not."""
        unknown = set(letters) - set(LETTERS)
        if unknown:
            raise ValueError(f"finger letters are {LETTERS}, got {letters!r}")
        return cls(*(c in letters for c in LETTERS))


# shared/data/real-hands/README.md: sign digit -> extended fingers (0 is an O shape: none extended).
DIGIT_EXTENDED: dict[int, FingerStates] = {
    digit: FingerStates.from_letters(letters) for digit, letters in enumerate(
        ("", "I", "IM", "TIM", "IMRP", "TIMRP", "IMR", "IMP", "IRP", "MRP"))
}
# HandsDataset classes '<n>-hand': n fingers raised, thumb included.
HANDS_CLASS_COUNT: dict[str, int] = {f"{n}-hand": n for n in range(6)}


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle between two vectors; a zero-length bone has no direction and counts as 90° (bent)."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 or nb == 0.0:
        return 90.0
    return float(np.degrees(np.arccos(np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0))))


def long_finger_extended(joints: np.ndarray, finger: str) -> bool:
    """The long-finger rule for ``finger`` (index, middle, ring or pinky) of (21, 3) joints."""
    mcp, pip, dip, tip = (joints[i] for i in LONG_FINGERS[finger])
    bend = _angle_deg(pip - mcp, dip - pip) + _angle_deg(dip - pip, tip - dip)
    wrist = joints[WRIST]
    return bool(bend < BEND_LIMIT_DEG and np.linalg.norm(tip - wrist) > np.linalg.norm(pip - wrist))


def thumb_bend_deg(joints: np.ndarray) -> float:
    """The thumb's bend of (21, 3) joints: the angle between its metacarpal and its last bone."""
    cmc, mcp, ip, tip = (joints[i] for i in THUMB)
    return _angle_deg(mcp - cmc, tip - ip)


def thumb_extended(joints: np.ndarray) -> bool:
    """The thumb rule: straight enough, and the tip away from the index MCP (not folded across the palm)."""
    mcp, tip = joints[THUMB[1]], joints[THUMB[3]]
    index_mcp = joints[INDEX_MCP]
    return bool(thumb_bend_deg(joints) < THUMB_LIMIT_DEG
                and np.linalg.norm(tip - index_mcp) > np.linalg.norm(mcp - index_mcp))


def finger_states(joints: np.ndarray) -> FingerStates:
    """The five finger states of (21, 3) joints in any unit, origin, orientation or handedness."""
    joints = np.asarray(joints, np.float64)
    if joints.shape != (21, 3):
        raise ValueError(f"finger states need (21, 3) joints, got shape {joints.shape}")
    if not np.all(np.isfinite(joints)):
        raise ValueError("finger states need finite joints")
    return FingerStates(thumb_extended(joints), *(long_finger_extended(joints, f) for f in LONG_FINGERS))


def states_agree(pred: np.ndarray, truth: np.ndarray) -> float:
    """Share of frames, joints (N, 21, 3) each, whose five finger states all match the truth's.

    Why: the real-photo checks score exactly these states; on labelled synthetic frames the same measure says how
    a model will do there without looking at the real frames."""
    read, true = _state_arrays(pred, truth)
    return float(np.all(read == true, axis=1).mean())


def extended_read_extended(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Per finger (thumb, index, …), the share of frames with that finger extended in the truth that `pred`
    reads extended; NaN for a finger never extended in the truth.

    Why: most synthetic frames hold the thumb bent, so a model that always reads it bent still gets the thumb's
    state right in most frames; this share shows what an open hand on a real camera meets."""
    read, true = _state_arrays(pred, truth)
    names = ("thumb", *LONG_FINGERS)
    return {name: float(read[true[:, i], i].mean()) if true[:, i].any() else float("nan")
            for i, name in enumerate(names)}


def _state_arrays(pred: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The finger states of predicted and true joints (N, 21, 3) each, as (N, 5) booleans in LETTERS order."""
    pred, truth = np.asarray(pred), np.asarray(truth)
    if pred.shape != truth.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from ground-truth shape {truth.shape}")
    return tuple(np.array([finger_states(j).as_tuple() for j in joints], bool).reshape(-1, len(LETTERS))
                 for joints in (pred, truth))
