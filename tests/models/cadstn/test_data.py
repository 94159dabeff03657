"""Training crops: windows stay inside sequences; synthetic crops rendered by models/synth match our crop."""
from __future__ import annotations

import numpy as np
import pytest

from models.cadstn.data import build_crop_set, synth_sequences
from tests.models.cadstn.conftest import toy_sequences


def test_windows_never_cross_sequence_bounds():
    crops = build_crop_set(toy_sequences(3, 5, seed=2), 250.0, 32)
    assert crops.bounds.tolist() == [[0, 5], [5, 10], [10, 15]]
    rng = np.random.default_rng(0)
    depth, joints = crops.sample(rng, 50, 4)
    assert depth.shape == (50, 4, 1, 32, 32) and joints.shape == (50, 4, 21, 3)
    # each window is 4 consecutive frames of one sequence: find its start and check membership
    for window in joints:
        start = int(np.nonzero((crops.joints == window[0]).all(axis=(1, 2)))[0][0])
        assert any(s <= start and start + 4 <= e for s, e in crops.bounds)
        np.testing.assert_array_equal(crops.joints[start:start + 4], window)
    with pytest.raises(ValueError, match="no sequence has 6 frames"):
        crops.sample(rng, 1, 6)
    frames, frame_joints = crops.sample(rng, 7)
    assert frames.shape == (7, 1, 32, 32) and frame_joints.shape == (7, 21, 3)


def test_synthetic_crops_are_the_rendered_crops_normalised():
    seqs = list(synth_sequences(seed=7, count=1, frames=3, cube_mm=250.0, size=64))
    crops = build_crop_set(seqs, 250.0, 64)  # no jitter: the cube is the one the renderer used
    raw = seqs[0].depth.astype(np.float32)
    centre_z = seqs[0].centres_mm[:, 2][:, None, None]
    expected = (raw - centre_z) / 125.0
    expected[(raw == 0) | (np.abs(expected) > 1)] = 1.0
    np.testing.assert_allclose(crops.depth[:, 0], expected, atol=1e-5)
    assert (crops.depth < 1).mean() > 0.03  # the hand is in view
    assert np.abs(crops.joints).max() < 1.0  # all joints inside the cube


def test_upright_crops_are_turned_crops_whose_joints_go_back_exactly(tmp_path):
    from models.cadstn.config import config_from_dict
    from models.cadstn.data import load_crop_set

    seqs = list(synth_sequences(seed=7, count=1, frames=4, cube_mm=250.0, size=64))
    plain = build_crop_set(seqs, 250.0, 64)
    upright = build_crop_set(seqs, 250.0, 64, upright=True)
    assert plain.angle is None and np.ptp(upright.angle) > 0  # each frame its own turn
    truth = seqs[0].joints_mm
    for crops in (plain, upright):
        np.testing.assert_allclose(crops.to_mm(crops.joints), truth, atol=1e-3)
        np.testing.assert_allclose(crops.to_mm(crops.joints[2:], start=2), truth[2:], atol=1e-3)
    # the turned crop is the plain one sampled on a turned grid: the same hand pixels, fingers up
    assert abs((upright.depth < 1).sum() - (plain.depth < 1).sum()) < 0.25 * (plain.depth < 1).sum()
    tips = upright.joints[:, [8, 12, 16], 1].mean()  # index, middle and ring fingertips (MediaPipe order)
    assert tips < upright.joints[:, 0, 1].mean()  # above the wrist, on average over frames (y down)
    # the turns survive the cache
    config = config_from_dict({"model": {"crop_size": 32, "upright": True},
                               "data": {"sequences": 1, "frames": 16, "val_sequences": 1},
                               "train": {"out_dir": str(tmp_path)}})
    fresh = load_crop_set(config, "val")
    cached = load_crop_set(config, "val")
    np.testing.assert_array_equal(fresh.angle, cached.angle)
    np.testing.assert_allclose(cached.to_mm(cached.joints), fresh.to_mm(fresh.joints), atol=1e-6)


def test_simple_sequences_join_clean_renders_to_the_realistic_training_crops(tmp_path):
    from models.cadstn.config import config_from_dict
    from models.cadstn.data import SIMPLE_SEED_OFFSET, load_crop_set

    def config(simple: int):
        return config_from_dict({"model": {"crop_size": 32, "upright": True},
                                 "data": {"sequences": 1, "frames": 16, "simple_sequences": simple,
                                          "sensor": "structured_light"},
                                 "train": {"out_dir": str(tmp_path / str(simple))}})

    realistic = load_crop_set(config(0), "train")
    joined = load_crop_set(config(2), "train")
    assert len(joined) == len(realistic) + 32 and len(joined.bounds) == 3
    np.testing.assert_array_equal(joined.depth[:len(realistic)], realistic.depth)
    clean = build_crop_set(synth_sequences(SIMPLE_SEED_OFFSET, 2, 16, 250.0, 32, sensor="simple"), 250.0, 32,
                           jitter_mm=10.0, seed=SIMPLE_SEED_OFFSET, upright=True)
    np.testing.assert_array_equal(joined.depth[len(realistic):], clean.depth)  # the earlier releases' renders
    assert load_crop_set(config(2), "val").depth.shape == load_crop_set(config(0), "val").depth.shape


def test_max_tilt_reaches_the_rendered_sequences():
    from scipy.spatial.transform import Rotation

    from models.synth.pose_flow import FlowOptions
    from models.synth.render_depth import DepthOptions
    from models.synth.sequence import FACING_CAMERA, SequenceGenerator, SequenceOptions

    def generator(max_tilt_deg: float) -> SequenceGenerator:
        options = SequenceOptions(kind="depth", flow=FlowOptions(frames=3), max_tilt_deg=max_tilt_deg,
                                  depth=DepthOptions(size=32, cube_mm=250.0))
        return SequenceGenerator(options, seed=3)

    def tilts(max_tilt_deg: float) -> np.ndarray:
        sequences = generator(max_tilt_deg)
        rotations = [sequences.sequence(i).truth.rotation for i in range(6)]
        return np.degrees((Rotation.from_rotvec(np.concatenate(rotations)) * FACING_CAMERA.inv()).magnitude())

    assert tilts(30.0).max() <= 30.0 + 1e-3 and tilts(180.0).max() > 30.0
    # synth_sequences renders exactly those sequences: the same joints for the same seed and tilt
    ours = list(synth_sequences(seed=3, count=2, frames=3, cube_mm=250.0, size=32, max_tilt_deg=30.0))
    same = generator(30.0)
    for i, seq in enumerate(ours):
        np.testing.assert_allclose(seq.joints_mm, same.sequence(i).truth.joints_3d, atol=1e-4)
    anywhere = next(synth_sequences(seed=3, count=1, frames=3, cube_mm=250.0, size=32))
    assert not np.allclose(anywhere.joints_mm, ours[0].joints_mm)


def test_crops_turned_by_the_true_joints_put_the_middle_knuckle_above_the_wrist():
    from models.cadstn.data import AxisOptions
    from models.cadstn.keypoints import KeypointInputs

    seqs = list(synth_sequences(seed=3, count=2, frames=4, cube_mm=250.0, size=64))
    crops = build_crop_set(seqs, 250.0, 64, upright=True, axis=AxisOptions("joints"))
    uv = crops.keypoints  # the true keypoints in each crop's own coordinates
    assert uv.shape == (8, 21, 2)
    up = uv[:, 9] - uv[:, 0]
    np.testing.assert_allclose(up[:, 0], 0.0, atol=1e-5)
    assert (up[:, 1] < 0).all()
    # the joints still go back to the camera exactly, whatever the turn
    np.testing.assert_allclose(crops.to_mm(crops.joints), np.concatenate([s.joints_mm for s in seqs]), atol=1e-3)
    # a batch with keypoints: the crop first, then 21 heatmaps; none at all when every window drops them
    rng = np.random.default_rng(0)
    depth, _ = crops.sample(rng, 3, 2, KeypointInputs(64, dropout=0.0))
    assert depth.shape == (3, 2, 22, 64, 64) and depth[:, :, 1:].max() > 0.5
    assert (depth[:, :, :1] <= 1.0).all() and (depth[:, :, :1] >= -1.0).all()
    depth, _ = crops.sample(rng, 3, 2, KeypointInputs(64, dropout=1.0))
    assert not depth[:, :, 1:].any()
    # the crop's own principal axis for every crop: the knuckle is no longer straight above the wrist
    turned = build_crop_set(seqs, 250.0, 64, upright=True, axis=AxisOptions("joints", crop_share=1.0))
    assert np.abs((turned.keypoints[:, 9] - turned.keypoints[:, 0])[:, 0]).max() > 0.01


def test_off_hand_sequences_join_crops_cut_down_the_arm(tmp_path):
    from models.cadstn.config import config_from_dict
    from models.cadstn.data import load_crop_set

    def config(off_hand: int):
        return config_from_dict({"model": {"crop_size": 32, "upright": True},
                                 "data": {"sequences": 1, "frames": 16, "off_hand_sequences": off_hand},
                                 "train": {"out_dir": str(tmp_path / str(off_hand))}})

    alone = load_crop_set(config(0), "train")
    joined = load_crop_set(config(3), "train")
    assert len(joined) == len(alone) + 48 and len(joined.bounds) == 4
    np.testing.assert_array_equal(joined.depth[:len(alone)], alone.depth)
    # the network's target says where the hand lies: far from the centre in about half the added crops
    off = np.linalg.norm(joined.to_mm(joined.joints).mean(1) - joined.centre_mm, axis=1)[len(alone):]
    assert 0.25 < np.mean(off > 35.0) < 0.75 and np.all(off < 160.0)
    # upright crops hold the fingers up, so a crop cut down the arm mostly has the hand above its centre (y down)
    far = off > 35.0
    assert np.mean(joined.joints[len(alone):][far].mean(1)[:, 1] < -0.2) > 0.5  # some turned by the crop's own axis
