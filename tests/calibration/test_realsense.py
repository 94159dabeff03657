"""RealSense lens models and extrinsics agree with librealsense's own projection after conversion."""
from __future__ import annotations

import numpy as np
import pytest

rs = pytest.importorskip("pyrealsense2")

from calibration.extrinsics import Extrinsics  # noqa: E402
from calibration.projection import back_project_mm, project_mm  # noqa: E402
from calibration.realsense import extrinsics_from_realsense, intrinsics_from_realsense  # noqa: E402

COEFFS = [0.12, -0.21, 0.0015, -0.0009, 0.08]


def _rs_intrinsics(model, coeffs=COEFFS):
    i = rs.intrinsics()
    i.width, i.height, i.fx, i.fy, i.ppx, i.ppy = 640, 480, 615.2, 614.8, 318.6, 243.1
    i.model, i.coeffs = model, list(coeffs)
    return i


def _pixels():
    u, v = np.meshgrid(np.linspace(5, 634, 12), np.linspace(5, 474, 9))
    return np.stack([u.ravel(), v.ravel()], axis=1)


@pytest.mark.parametrize("model", ["brown_conrady", "inverse_brown_conrady"])
def test_back_projection_matches_librealsense(model):
    intr = _rs_intrinsics(getattr(rs.distortion, model))
    k = intrinsics_from_realsense(intr)
    assert (k.fx, k.cx, k.width) == (pytest.approx(615.2), pytest.approx(318.6), 640)
    for uv in _pixels():
        theirs = np.array(rs.rs2_deproject_pixel_to_point(intr, [float(uv[0]), float(uv[1])], 700.0))
        ours = back_project_mm(uv, 700.0, k)
        # librealsense's own inverse of Brown-Conrady is a short fixed iteration: compare on the ray, in px
        assert np.abs((ours[:2] - theirs[:2]) / 700.0 * k.fx).max() < 0.1


@pytest.mark.parametrize("model", ["brown_conrady", "inverse_brown_conrady", "modified_brown_conrady"])
def test_projection_matches_librealsense(model):
    intr = _rs_intrinsics(getattr(rs.distortion, model))
    k = intrinsics_from_realsense(intr)
    rng = np.random.default_rng(3)
    pts = np.stack([rng.uniform(-0.45, 0.45, 60), rng.uniform(-0.33, 0.33, 60), np.ones(60)], axis=1) * 800.0
    ours = project_mm(pts, k)
    theirs = np.array([rs.rs2_project_point_to_pixel(intr, [float(c) for c in p]) for p in pts])
    assert np.abs(ours - theirs).max() < 0.1


def test_zero_coefficients_and_fisheye():
    k = intrinsics_from_realsense(_rs_intrinsics(rs.distortion.inverse_brown_conrady, [0.0] * 5))
    assert not k.has_distortion
    with pytest.raises(ValueError, match="fisheye"):
        intrinsics_from_realsense(_rs_intrinsics(rs.distortion.kannala_brandt4, [0.1, 0.01, 0.0, 0.0, 0.0]))


def test_extrinsics_match_librealsense_and_invert():
    angle = 0.05
    rot = np.array([[np.cos(angle), 0.0, np.sin(angle)], [0.0, 1.0, 0.0], [-np.sin(angle), 0.0, np.cos(angle)]])
    e = rs.extrinsics()
    e.rotation = [float(x) for x in rot.T.ravel()]  # librealsense stores column-major
    e.translation = [0.0148, -0.0002, 0.0003]  # metres, as a D435 colour-to-depth baseline
    ours = extrinsics_from_realsense(e)
    p = np.array([120.0, -45.0, 650.0])
    theirs = np.array(rs.rs2_transform_point_to_point(e, [float(c) / 1000.0 for c in p])) * 1000.0
    assert np.allclose(ours.apply(p), theirs, atol=1e-3)
    assert np.allclose(ours.inverse().apply(ours.apply(p)), p)
    with pytest.raises(ValueError, match="not a rotation"):
        Extrinsics(np.diag([1.0, 1.0, -1.0]), np.zeros(3))
