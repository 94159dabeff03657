"""The lifter's per-frame features: invariant to where and how large the hand is, mirrored for left hands."""
from __future__ import annotations

import numpy as np

from models.lifter.features import NUM_FEATURES, landmark_features


def _hand(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    px = rng.uniform(100, 300, (21, 2))
    return px, rng.normal(0, 20, 21), rng.normal(0, 0.05, (21, 3))


def test_features_ignore_position_and_size_of_the_hand() -> None:
    px, z, world = _hand(np.random.default_rng(0))
    f, centre, half = landmark_features(px, z, world)
    g, centre2, half2 = landmark_features(px * 3.0 + 50.0, z * 3.0 + 7.0, world * 1.7 + 0.2)
    assert f.shape == (NUM_FEATURES,) and f.dtype == np.float32
    np.testing.assert_allclose(f, g, atol=1e-5)
    np.testing.assert_allclose(centre2, centre * 3.0 + 50.0)
    np.testing.assert_allclose(half2, half * 3.0)
    assert np.abs(f[:42]).max() <= 1.0  # inside the box


def test_mirrored_hand_flips_x_only_and_batches_agree() -> None:
    rng = np.random.default_rng(1)
    px, z, world = _hand(rng)
    f, _, _ = landmark_features(px, z, world)
    m, _, _ = landmark_features(px, z, world, mirrored=True)
    uv, um = f[:42].reshape(21, 2), m[:42].reshape(21, 2)
    np.testing.assert_allclose(um[:, 0], -uv[:, 0], atol=1e-6)
    np.testing.assert_allclose(um[:, 1], uv[:, 1], atol=1e-6)
    np.testing.assert_allclose(m[42:63], f[42:63], atol=1e-6)
    w, wm = f[63:].reshape(21, 3), m[63:].reshape(21, 3)
    np.testing.assert_allclose(wm * [-1, 1, 1], w, atol=1e-6)
    # a (2, ...) batch with one mirrored hand gives the two rows above
    batch, _, _ = landmark_features(np.stack([px, px]), np.stack([z, z]), np.stack([world, world]),
                                    mirrored=np.array([False, True]))
    np.testing.assert_allclose(batch, np.stack([f, m]), atol=1e-6)
