"""Undistorting images: an undistorted rendered view looks like the same view through an ideal lens."""
from __future__ import annotations

import numpy as np
import pytest

from calibration.board import BoardDetector, parse_board
from calibration.undistort import ideal_intrinsics, undistort_image, undistortion_maps


def test_undistorted_view_matches_ideal_lens_view(true_camera, board_synth):
    board = parse_board("charuco:7x5:30mm:22mm")
    rvec, tvec = board_synth.view_poses(board, true_camera, 2)[1]  # a tilted view off the centre
    raw = board_synth.render_view(board, true_camera, rvec, tvec, noise=0.0)
    ideal_k = ideal_intrinsics(true_camera)
    ideal = board_synth.render_view(board, ideal_k, rvec, tvec, noise=0.0)
    fixed = undistort_image(raw, true_camera)
    assert fixed.shape == raw.shape and fixed.dtype == raw.dtype
    detector = BoardDetector(board)
    a, b, r = detector.detect(fixed), detector.detect(ideal), detector.detect(raw)
    assert a is not None and b is not None and r is not None
    common = {tuple(p) for p in a.object_points} & {tuple(p) for p in b.object_points}
    assert len(common) >= 20

    def corners(det):
        return {tuple(o): i for o, i in zip(det.object_points, det.image_points)}

    ca, cb, cr = corners(a), corners(b), corners(r)
    err = max(np.linalg.norm(ca[p] - cb[p]) for p in common)
    moved = max(np.linalg.norm(cr[p] - cb[p]) for p in common)
    assert err < 0.35 and moved > 3.0  # undistortion moved corners by pixels, onto the ideal ones


def test_maps_are_cached_and_read_only(true_camera):
    m1, m2 = undistortion_maps(true_camera)
    again = undistortion_maps(true_camera)
    assert again[0] is m1 and again[1] is m2
    with pytest.raises(ValueError):
        m1[0, 0] = 0


def test_depth_is_undistorted_without_blending(true_camera):
    depth = np.zeros((480, 640), np.uint16)
    depth[100:300, 150:400] = 500
    depth[200:260, 250:330] = 800
    out = undistort_image(depth, true_camera, nearest=True)
    assert set(np.unique(out)) <= {0, 500, 800}
    with pytest.raises(ValueError, match="does not match"):
        undistort_image(depth[:100], true_camera)
