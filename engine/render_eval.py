"""An RGB model through the real engine on held-out full-frame renders, beside MediaPipe on the same frames.

Why: held-out numbers of a network alone say nothing of the path users run (detector, tracking, crops or
landmark features, the hand model, the camera placement). Here each rendered sequence (any orientation,
0.3-1.0 m, `models.lifter.detector_data.render_sequences`, a seed no training used) goes frame by frame
through a fresh `StreamingEngine`, and MediaPipe Hands runs alone on the same frames in VIDEO mode as the
reference row. Errors are compared on the frames where both found the hand: root-relative and
Procrustes-aligned 3-D error (MediaPipe: its metric world landmarks), 2-D error in pixels, and the
acceleration error of the root-relative joints over runs of consecutive frames (steadiness).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from models import metrics


@dataclass
class RowScores:
    """One system's numbers: ``found`` share of frames; the rest on frames both systems found."""

    found: float
    mean_3d_mm: float
    pa_3d_mm: float
    mean_2d_px: float
    acceleration_error_mm: float


@dataclass
class RenderEvaluation:
    model: str
    sequences: int
    frames: int
    common_frames: int
    engine: RowScores
    mediapipe: RowScores

    def summary(self) -> str:
        rows = [f"{self.sequences} rendered sequences, {self.frames} frames, {self.common_frames} found by both",
                f"{'':<10} {'found':>6} {'3-D mm':>7} {'PA mm':>6} {'2-D px':>7} {'accel mm':>8}"]
        for name, r in ((self.model, self.engine), ("mediapipe", self.mediapipe)):
            rows.append(f"{name:<10} {r.found:>6.1%} {r.mean_3d_mm:>7.2f} {r.pa_3d_mm:>6.2f} {r.mean_2d_px:>7.2f} "
                        f"{r.acceleration_error_mm:>8.2f}")
        return "\n".join(rows)

    def to_dict(self) -> dict:
        return asdict(self)


def _acceleration(pred: list[np.ndarray | None], gt: np.ndarray, use: np.ndarray) -> list[float]:
    """Acceleration errors of the root-relative joints over maximal runs (>= 3 frames) of frames in ``use``
    (root-relative: MediaPipe's metric landmarks have no place in the camera to jitter)."""
    out, run = [], []
    for t in range(len(gt) + 1):
        if t < len(gt) and use[t]:
            run.append(t)
            continue
        if len(run) >= 3:
            p = np.stack([pred[i] for i in run])
            out.append(metrics.acceleration_error(p - p[:, :1], gt[run] - gt[run][:, :1]))
        run = []
    return out


def _row(found: float, pred3: list, pred2: list, gt3: np.ndarray, gt2: np.ndarray, use: list[np.ndarray]) -> RowScores:
    p3, g3, p2, g2, acc = [], [], [], [], []
    for s in range(len(gt3)):
        idx = np.flatnonzero(use[s])
        p3 += [pred3[s][i] for i in idx]
        g3 += [gt3[s][i] for i in idx]
        p2 += [pred2[s][i] for i in idx]
        g2 += [gt2[s][i] for i in idx]
        acc += _acceleration(pred3[s], gt3[s], use[s])
    p3, g3 = np.stack(p3), np.stack(g3)
    rel = lambda a: a - a[:, :1]  # noqa: E731
    return RowScores(found=found, mean_3d_mm=metrics.epe(rel(p3), rel(g3)), pa_3d_mm=metrics.pa_epe(p3, g3),
                     mean_2d_px=metrics.epe(np.stack(p2), np.stack(g2)),
                     acceleration_error_mm=float(np.mean(acc)) if acc else float("nan"))


def evaluate_on_renders(model: str, model_path: Path | None = None, sequences: int = 30, frames: int = 24,
                        seed: int = 2000) -> RenderEvaluation:
    """``model`` (an RGB kind) through the engine on ``sequences`` held-out renders, with MediaPipe beside it."""
    from engine.frames import Frame
    from engine.stream import EngineOptions, StreamingEngine
    from models.lifter.detector_data import render_sequences
    from models.mediapipe_hands import MediaPipeHands

    gt3, gt2, ours3, ours2, mp3, mp2, ours_ok, mp_ok = [], [], [], [], [], [], [], []
    for seq in render_sequences(seed, sequences, frames):
        t = len(seq.rgb)
        gt3.append(seq.truth.joints_3d.astype(np.float64))
        gt2.append(seq.truth.joints_2d.astype(np.float64))
        o3, o2, m3, m2 = [None] * t, [None] * t, [None] * t, [None] * t
        with StreamingEngine(EngineOptions(model=model, model_path=model_path, max_hands=1, vertices=False)) as engine:
            for f in range(t):
                result = engine.process(Frame(index=f, timestamp=f / 30.0, rgb=seq.rgb[f],
                                              intrinsics=seq.truth.intrinsics))
                if result.hands:
                    o3[f], o2[f] = result.hands[0].joints_3d.astype(np.float64), result.hands[0].joints_2d
        hands = MediaPipeHands(max_hands=1)
        try:
            for f in range(t):
                found = hands.detect(seq.rgb[f], f / 30.0)
                if found and found[0].world is not None:
                    m3[f], m2[f] = found[0].world * 1000.0, found[0].landmarks
        finally:
            hands.close()
        ours3.append(o3), ours2.append(o2), mp3.append(m3), mp2.append(m2)
        ours_ok.append(np.array([p is not None for p in o3]))
        mp_ok.append(np.array([p is not None for p in m3]))
    both = [a & b for a, b in zip(ours_ok, mp_ok)]
    total = sum(len(g) for g in gt3)
    return RenderEvaluation(
        model=model, sequences=sequences, frames=total, common_frames=int(sum(b.sum() for b in both)),
        engine=_row(float(sum(a.sum() for a in ours_ok)) / total, ours3, ours2, gt3, gt2, both),
        mediapipe=_row(float(sum(a.sum() for a in mp_ok)) / total, mp3, mp2, gt3, gt2, both))
