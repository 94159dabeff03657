"""CADSTN scored as the live engine runs it: full synthetic depth frames, cropped and stepped by the
engine's own CADSTN estimator (``engine.estimators.cadstn``), not by a copy of it.

Why: held-out figures on crops centred on the true hand (``models.cadstn.evaluate``) say what the
network can do; these say what it does behind the engine's cropping, where the crop centre comes
from the depth alone. ``handstream eval --model cadstn --live com|track`` prints them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.estimators.cadstn import CadstnEstimator
from engine.options import EngineOptions
from engine.runtime import ModelSession
from models.cadstn.data import synth_sequences
from models.cadstn.evaluate import EvalOptions, EvalResult
from models.metrics import acceleration_error, pose_report

CENTRINGS = ("com", "track")


def evaluate_live(model: Path, options: EvalOptions | None = None, centring: str = "track",
                  recentre: int = 0) -> EvalResult:
    """An ONNX model on full synthetic frames, cropped as the live engine must: around the depth centre
    of mass (`com`), or around the previous frame's predicted joints (`track`, centre of mass on the
    first frame), then re-cut `recentre` times around the joints found (the engine's `depth_recentre`).
    Shows what detector centring costs against crops centred on the true hand."""
    from models import depth_crop

    options = options or EvalOptions()
    if centring not in CENTRINGS:
        raise ValueError(f"centring must be one of {', '.join(CENTRINGS)}, got {centring!r}")
    session = ModelSession(Path(model), CadstnEstimator, threads=options.threads)
    estimator = CadstnEstimator(session, EngineOptions(model="cadstn", model_path=Path(model),
                                                       depth_recentre=recentre, threads=options.threads))
    info = session.info
    preds, gts, bounds = [], [], []
    for seq in synth_sequences(options.seed, options.sequences, options.frames, info.cube_mm, info.crop_size,
                               full_frame=True):
        state = session.zero_state()
        previous = None
        start = len(preds)
        for frame, truth in zip(seq.depth, seq.joints_mm):
            try:
                centre = depth_crop.hand_centre_mm(frame, seq.intrinsics, cube_mm=info.cube_mm)
            except ValueError:
                continue
            if centring == "track" and previous is not None:
                centre = previous.mean(axis=0)
            step = estimator.step(frame, centre, seq.intrinsics, state)
            state, previous = step.state, step.joints_mm
            preds.append(previous)
            gts.append(truth)
        bounds.append((start, len(preds)))
    pred, gt = np.stack(preds), np.stack(gts)
    accel = [acceleration_error(pred[s:e], gt[s:e]) for s, e in bounds if e - s >= 3]
    return EvalResult(reports={"fused": pose_report(pred, gt)}, acceleration_mm={"fused": float(np.mean(accel))})
