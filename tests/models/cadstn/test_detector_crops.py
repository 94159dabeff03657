"""Training crops with a real detector's keypoints: the lifter's shards rendered again, joined to synthetic ones."""
from __future__ import annotations

import numpy as np
import pytest

from models import depth_crop
from models.cadstn.data import AxisOptions, build_crop_set, join_crop_sets
from models.cadstn.detector_crops import SHARD_FRAMES, SHARD_SEED, mediapipe_crop_set
from models.cadstn.keypoints import KeypointInputs
from tests.models.cadstn.conftest import toy_sequences


def _shard(folder, seed=SHARD_SEED):
    """A detector shard of one sequence as `models.lifter.detector_data` writes it; the 'detector' reports the
    true 2-D joints shifted by 3 px, and misses frame 5."""
    from models.lifter.detector_data import render_sequences

    seq = next(render_sequences(seed, 1, SHARD_FRAMES))
    found = np.ones((1, SHARD_FRAMES), bool)
    found[0, 5] = False
    folder.mkdir()
    np.savez(folder / "shard_0000.npz", found=found, right=found.copy(),
             landmarks=(seq.truth.joints_2d + 3.0)[None], joints_3d=seq.truth.joints_3d[None])
    return seq


def test_crops_carry_the_detectors_keypoints_and_are_turned_by_them(tmp_path):
    seq = _shard(tmp_path / "shards")
    crops = mediapipe_crop_set(tmp_path / "shards", 250.0, 64, 0.0, AxisOptions("joints"))
    assert len(crops) == SHARD_FRAMES and not crops.simulated.any()
    assert np.isnan(crops.detected[5]).all() and np.isfinite(np.delete(crops.detected, 5, axis=0)).all()
    f = 2  # the crop is turned by the detector's landmarks, and holds them in its own coordinates
    seen = seq.truth.joints_2d[f] + 3.0
    assert crops.angle[f] == pytest.approx(depth_crop.joint_axis_angle(seen))
    up = crops.detected[f, 9] - crops.detected[f, 0]
    assert abs(up[0]) < 1e-5 and up[1] < 0
    np.testing.assert_allclose(crops.to_mm(crops.joints), seq.truth.joints_3d, atol=1e-3)
    # a shard of another generator is refused, not silently paired with the wrong depth
    _shard(tmp_path / "other", seed=SHARD_SEED + 1)
    with pytest.raises(ValueError, match="another motion"):
        mediapipe_crop_set(tmp_path / "other", 250.0, 64, 0.0, AxisOptions("joints"))


def test_joined_sets_draw_real_keypoints_where_there_are_some_and_simulated_ones_elsewhere():
    synth = build_crop_set(toy_sequences(2, 4, seed=1), 250.0, 32)
    real = build_crop_set(toy_sequences(1, 4, seed=2), 250.0, 32)
    real.detected = np.full_like(real.keypoints, 0.25)
    real.detected[2] = np.nan  # the detector missed this frame
    real.simulated = np.zeros(len(real), bool)
    joined = join_crop_sets([synth, real])
    assert len(joined) == 12 and joined.bounds.tolist() == [[0, 4], [4, 8], [8, 12]]
    assert joined.simulated.tolist() == [True] * 8 + [False] * 4
    rng = np.random.default_rng(0)
    inputs = KeypointInputs(32, dropout=0.0)
    idx = np.arange(8, 12)[None]
    out = inputs(rng, joined.depth[idx], joined.keypoints[idx], (joined.detected[idx], joined.simulated[idx]))
    peak = np.stack(np.unravel_index(out[0, :, 1:].reshape(4, 21, -1).argmax(-1), (32, 32)), -1)  # (row, col)
    expected = round((0.25 + 1) * 16 - 0.5)
    shown = [0, 1, 3]
    assert (np.abs(peak[shown] - expected) <= 1).all()  # the detector's points, as reported
    assert not out[0, 2, 1:].any()  # its miss stays a miss
    with pytest.raises(ValueError, match="same cube"):
        join_crop_sets([synth, build_crop_set(toy_sequences(1, 4), 200.0, 32)])
