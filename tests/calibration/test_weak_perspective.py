"""Weak perspective → metric camera space: a hand of known size at a known distance is placed correctly.

The hand is a simple 21-keypoint skeleton of an adult's size (MediaPipe order), posed, rotated and
placed in front of the distorted test camera. Its projected joints give the crop and — through a
least-squares fit — the (s, t) an ideal network would output for that crop.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from calibration.projection import pixel_rays, project_mm
from calibration.weak_perspective import DepthRefinement, fit_weak_perspective, weak_perspective_to_camera

# per finger: base (MCP / thumb CMC) in metres, direction in the palm plane, three segment lengths
FINGERS = [
    ((0.020, -0.020), (0.8, -0.6), (0.045, 0.032, 0.028)),   # thumb
    ((0.024, -0.090), (0.1, -1.0), (0.040, 0.025, 0.021)),   # index
    ((0.004, -0.094), (0.0, -1.0), (0.045, 0.028, 0.022)),   # middle
    ((-0.015, -0.089), (-0.1, -1.0), (0.042, 0.027, 0.022)),  # ring
    ((-0.031, -0.080), (-0.2, -1.0), (0.033, 0.020, 0.019)),  # pinky
]


def skeleton(flex: float = 0.35) -> np.ndarray:
    """21 joints (m): palm in the x-y plane, fingers along -y, each joint flexing towards -z."""
    joints = [np.zeros(3)]
    for (bx, by), (dx, dy), lengths in FINGERS:
        p = np.array([bx, by, 0.0])
        d = np.array([dx, dy, 0.0]) / np.hypot(dx, dy)
        joints.append(p.copy())
        for i, length in enumerate(lengths):
            angle = flex * (i + 1)
            step = d * np.cos(angle) + np.array([0.0, 0.0, -np.sin(angle)])
            p = p + step * length
            joints.append(p.copy())
    return np.array(joints[:1] + [j for f in range(5) for j in joints[1 + 4 * f: 5 + 4 * f]])


def observe(joints_cam_mm: np.ndarray, k) -> tuple[np.ndarray, float]:
    """The square crop (centre, side) the engine would take around the projected joints."""
    px = project_mm(joints_cam_mm, k)
    lo, hi = px.min(axis=0), px.max(axis=0)
    return (lo + hi) / 2.0, float((hi - lo).max() * 2.2)


def place(rvec, centroid_mm, scale_model: float = 1.0):
    """True camera-space joints (mm), and the model-space joints (m, camera axes, origin at the wrist)."""
    rot = cv2.Rodrigues(np.asarray(rvec, np.float64).reshape(3, 1))[0]
    model = skeleton() @ rot.T
    truth = (model - model.mean(axis=0)) * 1000.0 + np.asarray(centroid_mm)
    return truth, model * scale_model


def weak_camera(model_m, truth_mm, k):
    centre, size = observe(truth_mm, k)
    uv = (project_mm(truth_mm, k) - centre) / (size / 2.0)
    s, t = fit_weak_perspective(model_m, uv)
    return s, t, centre, size


CASES = [  # rotation (axis-angle), centroid in camera mm
    ((0.0, 0.0, 0.0), (0.0, 0.0, 450.0)),
    ((0.3, -0.4, 0.2), (120.0, -60.0, 300.0)),
    ((-0.5, 0.6, 1.2), (-260.0, 170.0, 650.0)),   # near the image corner, through strong distortion
    ((1.0, 0.2, -0.4), (40.0, 90.0, 900.0)),
]


@pytest.mark.parametrize("rvec, centroid", CASES)
def test_size_gives_depth_within_five_percent(rvec, centroid, true_camera):
    truth, model = place(rvec, centroid)
    s, t, centre, size = weak_camera(model, truth, true_camera)
    got = weak_perspective_to_camera(model, s, t, centre, size, true_camera)
    assert abs(got.depth_mm - centroid[2]) / centroid[2] < 0.05, (got.depth_mm, centroid[2])
    assert not got.refined_with_depth and got.perspective
    assert abs(got.size_depth_mm - centroid[2]) / centroid[2] < 0.05  # the size ratio alone is close too
    # every joint lands near its true position; the hand's own shape is kept exactly
    err = np.linalg.norm(got.joints_mm - truth, axis=1)
    assert err.max() < 0.02 * centroid[2]
    assert np.allclose(got.joints_mm - got.translation_mm, model * 1000.0)
    # and it reprojects onto the observed joints within a few pixels
    assert np.abs(project_mm(got.joints_mm, true_camera) - project_mm(truth, true_camera)).max() < 0.01 * size


def test_random_hands_all_within_five_percent(true_camera):
    """Any orientation, 25 cm to 1 m away, anywhere in view: the perspective step keeps depth within 5 %,
    where weak perspective's size ratio alone is off by more for close, tilted hands."""
    rng = np.random.default_rng(7)
    errors, size_errors = [], []
    for _ in range(60):
        z = rng.uniform(250.0, 1000.0)
        centroid = (rng.uniform(-0.3, 0.3) * z, rng.uniform(-0.22, 0.22) * z, z)
        truth, model = place(rng.normal(0.0, 0.7, 3), centroid)
        got = weak_perspective_to_camera(model, *weak_camera(model, truth, true_camera), true_camera)
        errors.append(abs(got.depth_mm / z - 1.0))
        size_errors.append(abs(got.size_depth_mm / z - 1.0))
    assert max(errors) < 0.05 and np.median(errors) < 0.01
    assert max(size_errors) > max(errors)


def test_depth_follows_the_focal_length_and_size_ratio(true_camera):
    """Twice the distance → half the projected size → twice the depth (the ratio the maths relies on)."""
    truth_a, model = place((0.2, 0.1, 0.0), (0.0, 0.0, 400.0))
    truth_b, _ = place((0.2, 0.1, 0.0), (0.0, 0.0, 800.0))
    a = weak_perspective_to_camera(model, *weak_camera(model, truth_a, true_camera), true_camera)
    b = weak_perspective_to_camera(model, *weak_camera(model, truth_b, true_camera), true_camera)
    assert abs(b.depth_mm / a.depth_mm - 2.0) < 0.05


def render_depth(joints_mm: np.ndarray, k, radius: float = 8.0, background: float = 1200.0) -> np.ndarray:
    """A depth map (mm) of the hand as spheres along its bones in front of a wall, by exact ray casting."""
    parents = [0, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19]
    centres = [joints_mm[j] + f * (joints_mm[parents[j]] - joints_mm[j]) for j in range(1, 21)
               for f in np.linspace(0.0, 1.0, 6)]
    px = project_mm(np.array(centres), k)
    (u0, v0), (u1, v1) = np.maximum(px.min(axis=0) - 40, 0).astype(int), (px.max(axis=0) + 40).astype(int)
    rays = pixel_rays(k)[v0:v1, u0:u1].astype(np.float64)  # only the hand's region needs ray casting
    d = np.concatenate([rays, np.ones(rays.shape[:2] + (1,))], axis=2)
    dd = np.sum(d * d, axis=2)
    region = np.full(rays.shape[:2], background)
    for c in centres:
        b = d @ c
        disc = b * b - dd * (c @ c - radius * radius)
        hit = disc > 0
        z = np.where(hit, (b - np.sqrt(np.where(hit, disc, 0.0))) / dd, np.inf)
        region = np.minimum(region, z)
    depth = np.full((k.height, k.width), background)
    depth[v0:v1, u0:u1] = region
    return np.rint(depth).astype(np.uint16)


def test_depth_frame_corrects_a_wrong_hand_size(true_camera):
    centroid = (60.0, -40.0, 500.0)
    truth, model = place((0.3, -0.2, 0.1), centroid, scale_model=1.15)  # the network thinks the hand is bigger
    s, t, centre, size = weak_camera(model, truth, true_camera)
    size_only = weak_perspective_to_camera(model, s, t, centre, size, true_camera)
    assert size_only.depth_mm / centroid[2] > 1.10  # a 15 % too big hand looks 15 % too far
    depth = render_depth(truth, true_camera)
    got = weak_perspective_to_camera(model, s, t, centre, size, true_camera, depth)
    assert got.refined_with_depth and got.depth_joints >= 15
    assert abs(got.depth_mm - centroid[2]) / centroid[2] < 0.02
    assert got.size_depth_mm == size_only.size_depth_mm
    # moved along the centroid's ray: the hand's centre still projects where the network saw it
    assert np.allclose(project_mm(got.joints_mm.mean(axis=0), true_camera),
                       project_mm(size_only.joints_mm.mean(axis=0), true_camera), atol=1e-6)


def test_implausible_or_missing_depth_is_ignored(true_camera):
    truth, model = place((0.0, 0.2, 0.0), (0.0, 0.0, 600.0))
    s, t, centre, size = weak_camera(model, truth, true_camera)
    plain = weak_perspective_to_camera(model, s, t, centre, size, true_camera)
    occluder = np.full((480, 640), 150, np.uint16)  # something 15 cm from the lens covers the hand
    blocked = weak_perspective_to_camera(model, s, t, centre, size, true_camera, occluder)
    assert not blocked.refined_with_depth and blocked.depth_mm == plain.depth_mm
    holes = weak_perspective_to_camera(model, s, t, centre, size, true_camera, np.zeros((480, 640), np.uint16))
    assert not holes.refined_with_depth and np.allclose(holes.joints_mm, plain.joints_mm)
    strict = DepthRefinement(min_valid_joints=22)
    assert not weak_perspective_to_camera(model, s, t, centre, size, true_camera, render_depth(truth, true_camera),
                                          refinement=strict).refined_with_depth
    with pytest.raises(ValueError, match="does not match"):
        weak_perspective_to_camera(model, s, t, centre, size, true_camera, np.zeros((10, 10), np.uint16))


def test_mirrored_crop_gives_the_same_placement(true_camera):
    truth, model = place((0.2, 0.3, -0.3), (-80.0, 50.0, 420.0))
    s, t, centre, size = weak_camera(model, truth, true_camera)
    direct = weak_perspective_to_camera(model, s, t, centre, size, true_camera)
    # what the network sees in a mirrored crop: x flipped in both the image and the hand
    uv = (project_mm(truth, true_camera) - centre) / (size / 2.0)
    mirror = np.array([-1.0, 1.0])
    s_m, t_m = fit_weak_perspective(model * np.array([-1.0, 1.0, 1.0]), uv * mirror)
    assert abs(s_m - s) < 1e-9 and np.allclose(t_m, t * mirror)
    via_mirror = weak_perspective_to_camera(model, s_m, t_m, centre, size, true_camera, mirrored=True)
    assert np.allclose(via_mirror.joints_mm, direct.joints_mm)


def test_bad_inputs_are_rejected(true_camera):
    model = skeleton()
    with pytest.raises(ValueError, match="scale must be positive"):
        weak_perspective_to_camera(model, -0.5, (0, 0), (320, 240), 200.0, true_camera)
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        weak_perspective_to_camera(model[:, :2], 5.0, (0, 0), (320, 240), 200.0, true_camera)
    with pytest.raises(ValueError, match="crop size"):
        weak_perspective_to_camera(model, 5.0, (0, 0), (320, 240), 0.0, true_camera)
    with pytest.raises(ValueError, match="coincide"):
        fit_weak_perspective(np.zeros((5, 3)), np.zeros((5, 2)))


def test_the_project_hand_model_is_placed_within_five_percent(true_camera):
    """The same with the shipped hand model's joints for sampled anatomical poses and shapes."""
    from models.hand.model import load_hand_model
    from models.pose_prior import sample_poses

    rng = np.random.default_rng(11)
    hand = load_hand_model()
    poses = sample_poses(8, rng)
    out = hand.forward(poses, rng.normal(0.0, 1.0, (8, 10)))
    assert out.joints.shape == (8, 21, 3)
    for joints in out.joints:
        z = rng.uniform(300.0, 800.0)
        centroid = (rng.uniform(-0.25, 0.25) * z, rng.uniform(-0.2, 0.2) * z, z)
        rot = cv2.Rodrigues(rng.normal(0.0, 0.8, 3).reshape(3, 1))[0]
        model = np.asarray(joints, np.float64) @ rot.T
        truth = (model - model.mean(axis=0)) * 1000.0 + np.asarray(centroid)
        got = weak_perspective_to_camera(model, *weak_camera(model, truth, true_camera), true_camera)
        assert abs(got.depth_mm / z - 1.0) < 0.05
        assert np.linalg.norm(got.joints_mm - truth, axis=1).max() < 0.03 * z
