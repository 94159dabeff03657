"""Live view selection: steady and new views are kept, duplicates and moving boards are not."""
from __future__ import annotations

import cv2
import numpy as np

from calibration.board import BoardDetection, parse_board
from calibration.views import ViewCollector, view_descriptor

BOARD = parse_board("checkerboard:9x6:20mm")


def _detection(k, rvec, tvec) -> BoardDetection:
    obj = BOARD.object_points()
    img, _ = cv2.projectPoints(obj.astype(np.float64), np.asarray(rvec, np.float64), np.asarray(tvec, np.float64),
                               k.matrix, k.dist_coeffs)
    return BoardDetection(img.reshape(-1, 2).astype(np.float32), obj, (k.width, k.height))


def test_steady_new_views_are_kept_once(true_camera, board_synth):
    poses = board_synth.view_poses(BOARD, true_camera, 6)
    views = [_detection(true_camera, r, t) for r, t in poses]
    collector = ViewCollector()
    assert collector.consider(views[0]) is False  # seen once: not yet known to be held still
    assert collector.consider(views[0]) is True
    assert collector.consider(views[0]) is False  # the same view again adds nothing
    first_coverage = collector.coverage
    for v in views[1:]:
        collector.consider(v)
        assert collector.consider(v) is True
    assert len(collector.views) == 6
    assert collector.coverage > first_coverage and len(collector.uncovered_cells()) < 24 * (1 - first_coverage)


def test_moving_board_and_lost_board_are_not_kept(true_camera):
    collector = ViewCollector()
    for i in range(8):  # sliding across the image, about 5 px per frame
        shift = np.array([-80.0 + 4.0 * i, 0.0, 0.0])
        assert collector.consider(_detection(true_camera, (0.2, 0.1, 0.0),
                                             np.array([-90.0, -60.0, 450.0]) + shift)) is False
    held = _detection(true_camera, (0.2, 0.1, 0.0), (-90.0, -60.0, 450.0))
    assert collector.consider(held) is False
    assert collector.consider(None) is False  # lost for a frame: steadiness starts over
    assert collector.consider(held) is False
    assert collector.consider(held) is True


def test_descriptor_separates_position_size_and_tilt(true_camera):
    base = view_descriptor(_detection(true_camera, (0.0, 0.0, 0.0), (-90.0, -60.0, 450.0)))
    moved = view_descriptor(_detection(true_camera, (0.0, 0.0, 0.0), (0.0, -60.0, 450.0)))
    nearer = view_descriptor(_detection(true_camera, (0.0, 0.0, 0.0), (-90.0, -60.0, 330.0)))
    tilted = view_descriptor(_detection(true_camera, (0.0, 0.7, 0.0), (-90.0, -60.0, 450.0)))
    for other in (moved, nearer, tilted):
        assert np.linalg.norm(other - base) > ViewCollector().min_difference
    assert (abs(moved[0] - base[0]) > 0.1 and abs(nearer[2] - base[2]) > 0.05
            and np.hypot(*(tilted[3:] - base[3:])) > 0.15)
