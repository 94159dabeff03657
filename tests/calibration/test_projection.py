"""Projection, back-projection and point (un)distortion: round trips and agreement with OpenCV."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from calibration.intrinsics import CameraIntrinsics
from calibration.projection import (
    back_project_mm,
    depth_to_points,
    distort_pixels,
    pixel_rays,
    pixel_to_camera_mm,
    project_mm,
    undistort_pixels,
)

CAMERA = CameraIntrinsics(fx=600.0, fy=606.0, cx=323.0, cy=236.5, width=640, height=480,
                          distortion=(-0.28, 0.11, 0.001, -0.0008, -0.02))


def _points(n: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.uniform(200.0, 1500.0, n)
    x = rng.uniform(-0.5, 0.5, n) * z
    y = rng.uniform(-0.38, 0.38, n) * z
    return np.stack([x, y, z], axis=1)


def test_projection_matches_opencv():
    pts = _points()
    ours = project_mm(pts, CAMERA)
    theirs, _ = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), CAMERA.matrix, CAMERA.dist_coeffs)
    assert np.abs(ours - theirs.reshape(-1, 2)).max() < 1e-6


def test_project_back_project_round_trip():
    pts = _points()
    uv = project_mm(pts, CAMERA)
    back = back_project_mm(uv, pts[:, 2], CAMERA)
    assert np.abs(back - pts).max() < 1e-6
    uvz = np.column_stack([uv, pts[:, 2]])
    assert np.abs(pixel_to_camera_mm(uvz, CAMERA) - pts).max() < 1e-6
    behind = project_mm(np.array([[0.0, 0.0, -5.0], [0.0, 0.0, 0.0], [10.0, 5.0, 500.0]]), CAMERA)
    assert np.all(np.isnan(behind[:2])) and np.all(np.isfinite(behind[2]))


def test_undistort_distort_pixel_round_trip_and_opencv_agreement():
    u, v = np.meshgrid(np.linspace(0, 639, 33), np.linspace(0, 479, 25))
    raw = np.stack([u.ravel(), v.ravel()], axis=1)
    ideal = undistort_pixels(raw, CAMERA)
    assert np.abs(distort_pixels(ideal, CAMERA) - raw).max() < 1e-6
    assert np.abs(ideal - raw).max() > 20.0  # the lens really bends the corners
    crit = (cv2.TERM_CRITERIA_COUNT + cv2.TERM_CRITERIA_EPS, 100, 1e-14)
    cv_ideal = cv2.undistortPoints(raw.reshape(-1, 1, 2), CAMERA.matrix, CAMERA.dist_coeffs, P=CAMERA.matrix,
                                   criteria=crit).reshape(-1, 2)
    assert np.abs(ideal - cv_ideal).max() < 1e-3


def test_no_distortion_is_plain_pinhole():
    k = CameraIntrinsics(fx=500.0, fy=510.0, cx=100.0, cy=80.0, width=200, height=160)
    uv = project_mm(np.array([[50.0, -20.0, 1000.0]]), k)
    assert np.allclose(uv, [[125.0, 69.8]])
    assert np.allclose(undistort_pixels(uv, k), uv)


def test_depth_map_back_projects_onto_the_plane_it_shows():
    # a tilted plane n·X = d seen by the camera: each pixel's depth is where its ray meets the plane
    n, d = np.array([0.2, -0.3, 1.0]) / np.linalg.norm([0.2, -0.3, 1.0]), 700.0
    rays = pixel_rays(CAMERA)
    ray3 = np.concatenate([rays, np.ones(rays.shape[:2] + (1,), np.float32)], axis=2).astype(np.float64)
    z = d / (ray3 @ n)
    depth = np.rint(z).astype(np.uint16)
    depth[:40, :60] = 0  # no readings there
    pts = depth_to_points(depth, CAMERA)
    assert pts.shape == (640 * 480 - 40 * 60, 3) and pts.dtype == np.float32
    assert np.abs(pts.astype(np.float64) @ n - d).max() < 1.0  # within the 1 mm depth quantisation
    organized = depth_to_points(depth, CAMERA, organized=True)
    assert organized.shape == (480, 640, 3) and np.all(organized[:40, :60] == 0)
    # the organized points are the sparse back-projection of the same pixels
    v, u = 300, 500
    expected = back_project_mm(np.array([u, v], np.float64), float(depth[v, u]), CAMERA)
    assert np.allclose(organized[v, u], expected, atol=1e-3)
    assert pixel_rays(CAMERA) is rays  # cached per camera
    with pytest.raises(ValueError, match="does not match"):
        depth_to_points(depth[:, :320], CAMERA)


def test_scaled_intrinsics_describe_the_resized_image():
    half = CAMERA.scaled(320, 240)
    pts = _points(50)
    full_uv = project_mm(pts, CAMERA)
    half_uv = project_mm(pts, half)
    # pixel centres: full-resolution pixel u maps to (u + 0.5) / 2 - 0.5 at half resolution
    assert np.abs(half_uv - ((full_uv + 0.5) / 2.0 - 0.5)).max() < 1e-9


def test_for_image_scales_same_aspect_and_refuses_crops():
    assert CAMERA.for_image(640, 480) is CAMERA
    assert CAMERA.for_image(1280, 960) == CAMERA.scaled(1280, 960)
    with pytest.raises(ValueError, match="640x480 images cannot describe 1280x720 frames"):
        CAMERA.for_image(1280, 720)


def test_a_camera_matrix_projects_as_its_homogeneous_form():
    k = np.array([[492.3, 0.0, 112.0], [0.0, 491.1, 110.5], [0.0, 0.0, 1.0]])
    camera = CameraIntrinsics.from_matrix(k, 224, 224)
    assert (camera.width, camera.height, camera.has_distortion) == (224, 224, False)
    np.testing.assert_array_equal(camera.matrix, k)
    pts = _points(50)
    uvw = pts @ k.T
    assert np.abs(project_mm(pts, camera) - uvw[:, :2] / uvw[:, 2:]).max() < 1e-9
    with pytest.raises(ValueError, match="camera matrix must be"):
        CameraIntrinsics.from_matrix([[492.3, 0.5, 112.0], [0.0, 491.1, 110.5], [0.0, 0.0, 1.0]], 224, 224)
