"""Skin-colour templates: per-vertex RGB colours of a hand, generated (no texture files to ship or license).

Why generated: SeqHAND paints each vertex from predefined colour templates; we build them from a palette of
skin tones spanning very light to very dark (interpolated along anchor colours, so any number of distinct
tones can be drawn), and give each template a lighter palm side, blotchy low-frequency variation and a
slight redness over the knuckles and fingertips, so the network cannot key on one flat colour.
"""
from __future__ import annotations

import numpy as np

# Anchor tones (sRGB 0-255) from very light to very dark skin; the palette is sampled along this polyline.
_ANCHORS = np.array([
    [255, 228, 206], [243, 206, 178], [232, 186, 150], [219, 168, 120], [200, 140, 95],
    [170, 110, 70], [135, 84, 52], [105, 64, 40], [78, 48, 32], [58, 38, 28],
], dtype=np.float64)


def skin_tones(n: int = 24) -> np.ndarray:
    """(n, 3) float RGB in [0, 1]: `n` distinct tones evenly spaced (by colour distance) along the palette."""
    if n < 1:
        raise ValueError(f"number of skin tones must be >= 1, got {n}")
    seg = np.linalg.norm(np.diff(_ANCHORS, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    at = np.linspace(0.0, arc[-1], n)
    tones = np.stack([np.interp(at, arc, _ANCHORS[:, k]) for k in range(3)], axis=1)
    return tones / 255.0


def skin_template(rest_vertices: np.ndarray, tone: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(V, 3) float RGB in [0, 1] for a hand whose rest-pose vertices (MANO frame, metres) are given.

    The MANO frame has the back of the hand at +y and the fingers along -x, so the palm side and the
    fingertips can be told apart from rest positions alone.
    """
    v = np.asarray(rest_vertices, dtype=np.float64)
    centred = (v - v.mean(0)) / (np.ptp(v, axis=0).max() + 1e-9)
    # Blotches: a few random low-frequency plane waves over the rest surface.
    freqs = rng.normal(0.0, 6.0, size=(4, 3))
    phases = rng.uniform(0.0, 2 * np.pi, size=4)
    blotch = np.sin(centred @ freqs.T + phases).mean(1)
    tone = np.clip(np.asarray(tone, dtype=np.float64) * rng.uniform(0.92, 1.08, size=3), 0.0, 1.0)
    palm = np.clip(-centred[:, 1] * 4.0, 0.0, 1.0)  # 1 on the palm side
    tips = np.clip((-centred[:, 0] - 0.15) * 3.0, 0.0, 1.0)  # towards the fingertips
    colour = tone[None, :] * (1.0 + 0.06 * blotch[:, None])
    colour = colour + palm[:, None] * (1.0 - colour) * 0.18  # lighter palm
    colour = colour * (1.0 - 0.08 * tips[:, None] * np.array([0.0, 1.0, 1.0]))  # redder tips
    return np.clip(colour, 0.0, 1.0).astype(np.float32)
