"""Synthetic sequences: labels agree with the pixels (masks, depth), the camera contract, determinism."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from models.depth_crop import crop_depth
from models.hand.model import HandModel
from models.synth.pose_bank import PoseBank, bank_from_theta
from models.synth.pose_flow import FlowOptions
from models.synth.render_depth import DepthOptions
from models.synth.render_rgb import RgbOptions, crop_to_pixels
from models.synth.sequence import SequenceGenerator, SequenceOptions

FLOW = FlowOptions(frames=4)


def rgb_generator(bank: PoseBank, model: HandModel, seed: int = 7, **kw) -> SequenceGenerator:
    return SequenceGenerator(SequenceOptions(kind="rgb", flow=FLOW, rgb=RgbOptions(size=96), **kw), seed=seed,
                             bank=bank, model=model)


def depth_generator(bank: PoseBank, model: HandModel, seed: int = 7, **kw) -> SequenceGenerator:
    depth = kw.pop("depth", DepthOptions(size=64))
    return SequenceGenerator(SequenceOptions(kind="depth", flow=FLOW, depth=depth, **kw), seed=seed, bank=bank,
                             model=model)


def joints_in_mask(joints_2d: np.ndarray, mask: np.ndarray) -> tuple[int, int]:
    """(joints inside the image, of those inside the mask dilated by 1 px)."""
    grown = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    uv = np.rint(joints_2d).astype(int)
    ok = (uv[:, 0] >= 0) & (uv[:, 0] < mask.shape[1]) & (uv[:, 1] >= 0) & (uv[:, 1] < mask.shape[0])
    return int(ok.sum()), int(grown[uv[ok, 1], uv[ok, 0]].sum())


def test_rgb_joints_fall_inside_the_hand_mask(small_bank, hand_model) -> None:
    gen = rgb_generator(small_bank, hand_model)
    total = hit = 0
    for i in range(3):
        seq = gen.sequence(i)
        assert seq.rgb.shape == (4, 96, 96, 3) and seq.rgb.dtype == np.uint8
        for f in range(4):
            n, k = joints_in_mask(seq.truth.joints_2d[f], seq.truth.mask[f])
            total, hit = total + n, hit + k
    assert total > 150 and hit == total


def test_rgb_params_reproduce_the_2d_joints_with_the_network_camera(small_bank, hand_model) -> None:
    seq = rgb_generator(small_bank, hand_model, pca_pose=True).sequence(3)
    p = seq.truth.params.astype(np.float64)
    assert p.shape == (4, 26)
    joints = hand_model.forward(p[:, :10], p[:, 10:20]).joints  # PCA pose, no global rotation
    rotated = np.einsum("tij,tkj->tki", Rotation.from_rotvec(p[:, 23:26]).as_matrix(), joints)
    uv = crop_to_pixels(p[:, 20, None, None] * rotated[..., :2] + p[:, None, 21:23], 96)
    np.testing.assert_allclose(uv, seq.truth.joints_2d, atol=1e-3)
    assert np.allclose(seq.truth.betas, seq.truth.betas[0]) and np.all(np.abs(seq.truth.betas) <= 2)


def nearest_surface(depth: np.ndarray, joints_2d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Depth of the nearest surface in the 3x3 pixels around each joint (inf if none) and which joints are
    away from the border (fingertips are surface points on the rim, so a single pixel may just miss them)."""
    h, w = depth.shape
    uv = np.rint(joints_2d).astype(int)
    inside = (uv[:, 0] >= 1) & (uv[:, 0] < w - 1) & (uv[:, 1] >= 1) & (uv[:, 1] < h - 1)
    window = np.stack([depth[uv[inside, 1] + dy, uv[inside, 0] + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
    return np.where(window > 0, window, np.inf).min(0).astype(float), inside


def test_depth_at_projected_joints_is_never_behind_them(small_bank, hand_model) -> None:
    gen = depth_generator(small_bank, hand_model, augment=False, depth=DepthOptions(size=64, background="none"))
    for i in range(4):
        seq = gen.sequence(i)
        assert seq.depth.dtype == np.uint16 and seq.depth.shape == (4, 64, 64)
        for f in range(4):
            d, inside = nearest_surface(seq.depth[f], seq.truth.joints_2d[f])
            assert inside.sum() >= 15
            assert np.all(np.isfinite(d))  # a joint is inside the hand: some surface is seen there
            assert np.all(d <= seq.truth.joints_3d[f][inside, 2] + 2.0)  # ... and never behind it


def test_depth_at_projected_joints_is_within_a_finger_radius(hand_model) -> None:
    """An open hand, back to the camera, nothing occluded: the surface is a finger's radius in front of each
    joint (more at the wrist and the thumb's base, which sit deep in the palm)."""
    flat = bank_from_theta(np.zeros((2, 45)), hand_model, "flat")
    gen = depth_generator(flat, hand_model, augment=False, max_tilt_deg=20.0,
                          depth=DepthOptions(size=96, background="none"))
    radius = np.full(21, 14.0)  # finger half-thickness at β up to ±2, seen up to 20° off-axis
    radius[[0, 1, 2]] = (32.0, 32.0, 18.0)  # wrist, thumb CMC and MCP: inside the palm
    for i in range(3):
        seq = gen.sequence(i)
        for f in range(4):
            d, inside = nearest_surface(seq.depth[f], seq.truth.joints_2d[f])
            gap = seq.truth.joints_3d[f][inside, 2] - d
            assert inside.all() and np.all(gap > -2.0) and np.all(gap < radius), np.round(gap, 1)


def test_depth_crop_is_the_crop_models_depth_crop_would_cut(small_bank, hand_model) -> None:
    opts = dict(augment=False)
    full = depth_generator(small_bank, hand_model, depth=DepthOptions(full_frame=True, background="plane"), **opts)
    crop = depth_generator(small_bank, hand_model, depth=DepthOptions(size=128, background="none"), **opts)
    a, b = full.sequence(2), crop.sequence(2)
    np.testing.assert_allclose(a.truth.joints_3d, b.truth.joints_3d, atol=1e-3)
    k = a.truth.intrinsics
    for f in range(4):
        cut = crop_depth(a.depth[f], a.truth.crop_centre_mm[f], k, cube_mm=250.0, size=128).depth
        ours = b.depth[f].astype(np.float32)
        ours = np.where(ours > 0, (ours - b.truth.crop_centre_mm[f, 2]) / 125.0, 1.0)
        ours[(ours > 1) | (ours < -1)] = 1.0
        hand = b.truth.mask[f] > 0
        assert hand.sum() > 200
        assert np.mean(np.abs(cut[hand] - ours[hand]) < 0.02) > 0.95  # 2.5 mm


def test_sensor_noise_is_small_on_surfaces_and_drops_edge_pixels(small_bank, hand_model) -> None:
    clean = depth_generator(small_bank, hand_model, augment=False).sequence(1).depth.astype(float)
    noisy = depth_generator(small_bank, hand_model, augment=True).sequence(1).depth.astype(float)
    both = (clean > 0) & (noisy > 0)
    assert np.median(np.abs(clean[both] - noisy[both])) < 3.0
    assert np.mean(noisy == 0) > np.mean(clean == 0)


@pytest.mark.parametrize("kind", ["rgb", "depth"])
def test_same_seed_same_bytes_other_seed_other_data(small_bank, hand_model, kind) -> None:
    make = rgb_generator if kind == "rgb" else depth_generator
    a = make(small_bank, hand_model, seed=5).sequence(11).to_arrays()
    b = make(small_bank, hand_model, seed=5).sequence(11).to_arrays()
    c = make(small_bank, hand_model, seed=6).sequence(11).to_arrays()
    assert list(a) == list(b)
    for key in a:
        assert a[key].tobytes() == b[key].tobytes(), key
    image = "rgb" if kind == "rgb" else "depth"
    assert a[image].tobytes() != c[image].tobytes()


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="kind"):
        SequenceOptions(kind="infrared")
    with pytest.raises(ValueError, match="background"):
        DepthOptions(background="sky")


def test_rgbd_frames_are_aligned_for_the_demo(small_bank, hand_model) -> None:
    gen = SequenceGenerator(SequenceOptions(kind="depth", flow=FLOW, depth=DepthOptions(full_frame=True),
                                            colour=True, max_tilt_deg=30.0), seed=2, bank=small_bank,
                            model=hand_model)
    seq = gen.sequence(0)
    assert seq.rgb.shape == (4, 480, 640, 3) and seq.depth.shape == (4, 480, 640)
    hand = seq.truth.mask > 0
    # hand pixels are skin-coloured (red >= blue) far more often than the background is
    skin = seq.rgb[..., 0].astype(int) >= seq.rgb[..., 2].astype(int)
    assert skin[hand].mean() > 0.95
    assert np.mean(seq.depth[hand] > 0) > 0.9  # depth is there where the hand is drawn (noise drops edges)


def test_sensor_and_scene_leave_motion_and_colour_unchanged(small_bank, hand_model) -> None:
    """The colour frames MediaPipe saw (models/lifter/detector_data) must render again: new draws use new streams."""
    from models.synth.depth_scene import PLAIN_SCENE, SceneOptions

    old = DepthOptions(size=64, sensor="simple", scene=PLAIN_SCENE)
    new = DepthOptions(size=64, sensor="structured_light", scene=SceneOptions(sleeve=1.0, body=1.0, table=1.0))
    a = depth_generator(small_bank, hand_model, depth=old, colour=True).sequence(3)
    b = depth_generator(small_bank, hand_model, depth=new, colour=True).sequence(3)
    for key in ("joints_3d", "joints_2d", "theta", "betas", "rotation", "crop_centre_mm"):
        assert getattr(a.truth, key).tobytes() == getattr(b.truth, key).tobytes(), key
    assert a.rgb.tobytes() == b.rgb.tobytes()
    assert a.depth.tobytes() != b.depth.tobytes()


def test_sleeve_lies_over_the_forearm(small_bank, hand_model) -> None:
    from models.synth.depth_scene import PLAIN_SCENE, SceneOptions

    plain = DepthOptions(size=96, background="none", scene=PLAIN_SCENE)
    sleeve = DepthOptions(size=96, background="none", scene=SceneOptions(sleeve=1.0, body=0.0, table=0.0))
    a = depth_generator(small_bank, hand_model, depth=plain, augment=False).sequence(5)
    b = depth_generator(small_bank, hand_model, depth=sleeve, augment=False).sequence(5)
    da, db = a.depth.astype(np.float64), b.depth.astype(np.float64)
    changed = da != db
    assert changed.sum() > 50
    # where the sleeve shows it is nearer than the arm, or covers what was empty; the hand mask excludes it
    assert np.all((db[changed] < da[changed]) | (da[changed] == 0))
    assert not (b.truth.mask.astype(bool) & changed & (a.truth.mask == 0)).any()
    assert np.all(b.truth.mask <= a.truth.mask)


def test_off_hand_crops_are_cut_down_the_forearm(small_bank, hand_model) -> None:
    """The live depth detector sometimes centres its crop on the arm: such frames show the same hand cut around
    a point on the forearm's axis near the wrist; the other frames render as before."""
    from models.synth.depth_scene import PLAIN_SCENE

    base = dict(size=64, background="none", forearm_mm=250.0, scene=PLAIN_SCENE)
    plain = depth_generator(small_bank, hand_model, augment=False, depth=DepthOptions(**base))
    off_hand = depth_generator(small_bank, hand_model, augment=False, depth=DepthOptions(off_hand_share=0.5, **base))
    moved_frames = 0
    for i in range(6):
        a, b = plain.sequence(i), off_hand.sequence(i)
        assert a.truth.joints_3d.tobytes() == b.truth.joints_3d.tobytes()
        moved = (b.truth.crop_centre_mm != a.truth.crop_centre_mm).any(axis=1)
        assert a.depth[~moved].tobytes() == b.depth[~moved].tobytes()
        joints = b.truth.joints_3d.astype(np.float64)
        arm = Rotation.from_rotvec(b.truth.rotation).as_matrix()[:, :, 0]  # the forearm leaves along model +x
        to_arm = joints[:, 0] - joints[:, 9]  # middle knuckle → wrist
        assert np.all((arm * to_arm).sum(1) > 0.8 * np.linalg.norm(to_arm, axis=1))
        from_wrist = b.truth.crop_centre_mm.astype(np.float64) - joints[:, 0]
        past = (from_wrist * arm).sum(1)  # how far down the arm's axis, and nothing off it
        np.testing.assert_allclose(from_wrist[moved], past[moved, None] * arm[moved], atol=1e-3)
        assert np.all((past[moved] > -20.01) & (past[moved] < 40.01))
        from_hand = np.linalg.norm(b.truth.crop_centre_mm - joints.mean(1), axis=1)
        assert np.all(from_hand[moved] > 25.0)
        for f in np.nonzero(moved)[0]:  # the centre lies inside the arm: its ray meets the arm's near side
            centre = b.depth[f, 31:33, 31:33].astype(np.float64)
            assert np.all(centre > 0) and np.median(centre) <= b.truth.crop_centre_mm[f, 2] + 2.0
        moved_frames += int(moved.sum())
    assert 6 <= moved_frames <= 18  # of 24
    with pytest.raises(ValueError, match="off_hand"):
        DepthOptions(off_hand_share=1.5)
