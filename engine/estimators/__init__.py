"""One estimator per model kind, behind one interface (``base.Estimator``).

``KINDS`` maps each ``--model`` name to its estimator class; the engine, the ONNX Runtime session's
contract check and the CLI's ``--model`` choices all read it. A new kind is a module here and a line
below.
"""
from __future__ import annotations

from engine.estimators.base import Estimator, FrameContext
from engine.estimators.cadstn import CadstnEstimator
from engine.estimators.lifter import LifterEstimator
from engine.estimators.seqhand import SeqHandEstimator
from engine.estimators.seqhand_kp import KeypointSeqHandEstimator

KINDS: dict[str, type[Estimator]] = {"seqhand": SeqHandEstimator, "cadstn": CadstnEstimator,
                                     "lifter": LifterEstimator, "seqhand_kp": KeypointSeqHandEstimator}
MODEL_KINDS = tuple(KINDS)  # every kind, in the CLI's order (weights/ may not ship a file for each yet)


def kinds_reading(image: str) -> tuple[str, ...]:
    """The kinds that run on ``image`` ("rgb": colour frames and photos; "depth": depth frames)."""
    return tuple(kind for kind, estimator in KINDS.items() if estimator.image == image)


def estimator_class(kind: str) -> type[Estimator]:
    """The estimator of ``kind``; an unknown kind is a one-line error naming the known ones."""
    if kind not in KINDS:
        raise ValueError(f"--model must be one of {', '.join(KINDS)}, got {kind!r}")
    return KINDS[kind]


__all__ = ["KINDS", "MODEL_KINDS", "Estimator", "FrameContext", "estimator_class", "kinds_reading"]
