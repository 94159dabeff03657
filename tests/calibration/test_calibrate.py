"""Calibration recovers a known camera from rendered board views; too few or no views fail clearly."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from calibration.board import parse_board
from calibration.calibrate import MIN_VIEWS, calibrate_folder, calibrate_images
from calibration.projection import pixels_to_normalized
from calibration.undistort import ideal_intrinsics


def _assert_close_camera(found, truth):
    for name in ("fx", "fy", "cx", "cy"):
        got, want = getattr(found, name), getattr(truth, name)
        assert abs(got - want) / want < 0.01, (name, got, want)
    assert (found.width, found.height) == (truth.width, truth.height)
    # the lens model as a whole: rays through raw pixels of the central 80 % (where the boards were)
    # agree within 2 px — the true distortion displaces them by over 6 px; coefficients alone trade
    # off against each other, so they are not compared one by one
    u, v = np.meshgrid(np.linspace(0.1, 0.9, 9) * truth.width, np.linspace(0.1, 0.9, 7) * truth.height)
    raw = np.stack([u.ravel(), v.ravel()], axis=1)
    want = pixels_to_normalized(raw, truth)
    got = pixels_to_normalized(raw, found)
    assert np.abs(got - want).max() * truth.fx < 2.0
    assert np.abs(want - pixels_to_normalized(raw, ideal_intrinsics(truth))).max() * truth.fx > 6.0


@pytest.mark.parametrize("spec", ["checkerboard:9x6:20mm", "charuco:7x5:30mm:22mm"])
def test_calibration_recovers_known_camera(spec, true_camera, render_views):
    board = parse_board(spec)
    result = calibrate_images(render_views(board, true_camera), board)
    assert result.views == 8 and not result.skipped_files
    assert result.rms_px < 0.5
    assert len(result.per_view_rms_px) == 8 and max(result.per_view_rms_px) < 0.5
    _assert_close_camera(result.intrinsics, true_camera)


def test_calibration_is_not_fooled_into_a_wrong_scale(true_camera, render_views):
    """Declaring the wrong square size must not change the intrinsics (only the poses' scale)."""
    views = render_views(parse_board("charuco:7x5:30mm:22mm"), true_camera)
    right = calibrate_images(views, parse_board("charuco:7x5:30mm:22mm")).intrinsics
    wrong = calibrate_images(views, parse_board("charuco:7x5:45mm:33mm")).intrinsics
    assert abs(right.fx - wrong.fx) < 0.05 and abs(right.cy - wrong.cy) < 0.05


def test_too_few_views_is_a_clear_error(true_camera, render_views):
    board = parse_board("charuco:7x5:30mm:22mm")
    views = render_views(board, true_camera)[: MIN_VIEWS - 1]
    with pytest.raises(ValueError) as err:
        calibrate_images(views, board)
    msg = str(err.value)
    assert f"found in {MIN_VIEWS - 1} of {MIN_VIEWS - 1} images" in msg and f"at least {MIN_VIEWS}" in msg
    assert "\n" not in msg


def test_images_without_the_board_are_skipped_then_counted(true_camera, render_views):
    board = parse_board("charuco:7x5:30mm:22mm")
    blank = [(f"blank{i}.png", np.full((480, 640), 120, np.uint8)) for i in range(6)]
    with pytest.raises(ValueError, match="found in 0 of 6 images"):
        calibrate_images(blank, board)
    mixed = render_views(board, true_camera)[:5] + blank[:2]
    result = calibrate_images(mixed, board)
    assert result.views == 5 and result.skipped_files == ["blank0.png", "blank1.png"]


def test_calibrate_folder_reads_image_files(tmp_path, true_camera, render_views):
    board = parse_board("charuco:7x5:30mm:22mm")
    for name, image in render_views(board, true_camera):
        cv2.imwrite(str(tmp_path / name), image)
    (tmp_path / "notes.txt").write_text("not an image")
    result = calibrate_folder(tmp_path, board)
    assert result.used_files == [f"view{i:02d}.png" for i in range(8)]
    _assert_close_camera(result.intrinsics, true_camera)


def test_calibrate_folder_errors(tmp_path):
    board = parse_board("checkerboard:9x6:20mm")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        calibrate_folder(tmp_path / "missing", board)
    with pytest.raises(FileNotFoundError, match="holds no images"):
        calibrate_folder(tmp_path, board)
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="broken.png cannot be decoded"):
        calibrate_folder(tmp_path, board)
