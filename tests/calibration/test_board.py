"""Board specs and board detection on rendered views with known corner positions."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from calibration.board import BoardDetector, parse_board

CHECKER = "checkerboard:9x6:20mm"
CHARUCO = "charuco:7x5:30mm:22mm"


def test_parse_board_specs():
    b = parse_board("checkerboard:9x6:25mm")
    assert (b.kind, b.cols, b.rows, b.square_mm, b.corner_count) == ("checkerboard", 9, 6, 25.0, 54)
    c = parse_board("charuco:7x5:30mm:22.5mm:4x4_50")
    assert (c.kind, c.cols, c.rows, c.square_mm, c.marker_mm, c.dictionary) == ("charuco", 7, 5, 30.0, 22.5,
                                                                                "DICT_4X4_50")
    assert c.corner_count == 24 and len(c.object_points()) == 24
    assert parse_board(str(c)) == c and parse_board(str(b)) == b
    pts = b.object_points()
    assert (pts.shape == (54, 3) and np.allclose(pts[1] - pts[0], [25, 0, 0])
            and np.allclose(pts[9] - pts[0], [0, 25, 0]))


@pytest.mark.parametrize("spec, words", [
    ("chess:9x6:25mm", "unknown kind"),
    ("checkerboard:9by6:25mm", "COLSxROWS"),
    ("checkerboard:9x6:-3mm", "positive length"),
    ("checkerboard:9x6", "number of fields"),
    ("checkerboard:2x6:25mm", "at least 3x3"),
    ("charuco:7x5:30mm:35mm", "smaller than the square"),
    ("charuco:7x5:30mm:22mm:DICT_NOPE", "unknown ArUco dictionary"),
    ("charuco:20x20:30mm:22mm:DICT_4X4_50", "markers needed"),
])
def test_bad_board_specs_name_the_problem(spec, words):
    with pytest.raises(ValueError) as err:
        parse_board(spec)
    assert words in str(err.value) and spec in str(err.value) and "\n" not in str(err.value)


def _true_corners(board, k, pose):
    rvec, tvec = pose
    projected, _ = cv2.projectPoints(board.object_points().astype(np.float64), rvec, tvec, k.matrix,
                                     np.asarray(k.distortion))
    return projected.reshape(-1, 2)


@pytest.mark.parametrize("spec", [CHECKER, CHARUCO])
def test_detected_corners_match_the_true_projection(spec, true_camera, render_views, board_synth):
    board = parse_board(spec)
    views = render_views(board, true_camera)
    poses = board_synth.view_poses(board, true_camera, len(views))
    detector = BoardDetector(board)
    for (_, image), pose in list(zip(views, poses))[:2]:
        found = detector.detect(image)
        assert found is not None and found.image_size == (640, 480)
        truth = _true_corners(board, true_camera, pose)
        if board.kind == "charuco":  # corners identified by id: compare pairwise through the board points
            rvec, tvec = pose
            expected, _ = cv2.projectPoints(found.object_points.astype(np.float64), rvec, tvec,
                                            true_camera.matrix, np.asarray(true_camera.distortion))
            err = np.linalg.norm(found.image_points - expected.reshape(-1, 2), axis=1)
            assert found.count >= 20
        else:  # the pattern's start corner is ambiguous: match each detection to its nearest true corner
            assert found.count == board.corner_count
            d = np.linalg.norm(found.image_points[:, None] - truth[None], axis=2)
            err = d.min(axis=1)
            assert len(set(d.argmin(axis=1))) == board.corner_count
        assert err.max() < 0.3, err.max()


@pytest.mark.parametrize("spec", [CHECKER, CHARUCO])
def test_no_board_gives_none(spec):
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 255, (480, 640), dtype=np.uint8)
    assert BoardDetector(parse_board(spec)).detect(noise) is None
    assert BoardDetector(parse_board(spec)).detect(np.full((480, 640, 3), 128, np.uint8)) is None


def test_wrong_board_size_is_not_detected(true_camera, render_views):
    image = render_views(parse_board(CHECKER), true_camera)[0][1]
    assert BoardDetector(parse_board("checkerboard:8x6:20mm")).detect(image) is None


def test_detect_rejects_non_images():
    det = BoardDetector(parse_board(CHECKER))
    with pytest.raises(ValueError, match="8-bit"):
        det.detect(np.zeros((48, 64), np.float32))
