"""Synthetic calibration views: boards rendered through a known camera with known lens distortion.

Rendering is exact ray casting, independent of the code under test: every (supersampled) output
pixel is undistorted with OpenCV, its ray intersected with the board plane, and the board texture
sampled there; the image is then box-filtered down, like a real sensor integrating light.
"""
from __future__ import annotations

import numpy as np
import pytest

from calibration.board import BoardSpec
from calibration.intrinsics import CameraIntrinsics

TRUE_CAMERA = CameraIntrinsics(fx=600.0, fy=606.0, cx=323.0, cy=236.5, width=640, height=480,
                               distortion=(-0.12, 0.05, 0.0008, -0.0006, 0.0))
TEXTURE_PX_PER_MM = 4.0
BACKGROUND = 140
SUPERSAMPLE = 2


def board_texture(board: BoardSpec) -> tuple[np.ndarray, np.ndarray]:
    """The board's printout (grey) and ``b`` in the map board-mm → texture pixel: px = TEXTURE_PX_PER_MM · mm + b."""
    k = TEXTURE_PX_PER_MM
    if board.kind == "checkerboard":
        margin_mm = board.square_mm  # one white square of quiet zone all around
        nx, ny = board.cols + 1, board.rows + 1
        width_mm, height_mm = nx * board.square_mm + 2 * margin_mm, ny * board.square_mm + 2 * margin_mm
        tex = np.full((int(round(height_mm * k)), int(round(width_mm * k))), 255, np.uint8)
        sq = int(round(board.square_mm * k))
        m = int(round(margin_mm * k))
        for j in range(ny):
            for i in range(nx):
                if (i + j) % 2 == 0:
                    tex[m + j * sq: m + (j + 1) * sq, m + i * sq: m + (i + 1) * sq] = 0
        # object origin = first inner corner, one square in from the printed squares' corner
        return tex, np.array([m + sq - 0.5, m + sq - 0.5])
    margin = int(round(board.square_mm * k / 2))
    size = (int(round(board.cols * board.square_mm * k)) + 2 * margin,
            int(round(board.rows * board.square_mm * k)) + 2 * margin)
    tex = board.charuco_board().generateImage(size, marginSize=margin, borderBits=1)
    assert tex.shape == (size[1], size[0])
    return tex, np.array([margin - 0.5, margin - 0.5])


def _rays(k: CameraIntrinsics) -> np.ndarray:
    """Ideal normalised coordinates of every supersampled pixel, by OpenCV's own iterative undistortion."""
    import cv2

    w, h = k.width * SUPERSAMPLE, k.height * SUPERSAMPLE
    xs, ys = np.meshgrid((np.arange(w) + 0.5) / SUPERSAMPLE - 0.5, (np.arange(h) + 0.5) / SUPERSAMPLE - 0.5)
    pts = np.stack([xs.ravel(), ys.ravel()], axis=1).reshape(-1, 1, 2)
    crit = (cv2.TERM_CRITERIA_COUNT + cv2.TERM_CRITERIA_EPS, 60, 1e-12)
    rays = cv2.undistortPoints(pts, k.matrix, np.asarray(k.distortion), criteria=crit)
    return rays.reshape(h, w, 2)


def render_view(board: BoardSpec, k: CameraIntrinsics, rvec: np.ndarray, tvec: np.ndarray,
                rays: np.ndarray | None = None, noise: float = 1.5, seed: int = 0) -> np.ndarray:
    """The grey image of ``board`` at pose (rvec, tvec) (board mm → camera mm) seen by camera ``k``."""
    import cv2

    tex, offset = board_texture(board)
    rays = _rays(k) if rays is None else rays
    rot = cv2.Rodrigues(np.asarray(rvec, np.float64).reshape(3, 1))[0]
    hom = np.column_stack([rot[:, 0], rot[:, 1], np.asarray(tvec, np.float64).ravel()])
    inv = np.linalg.inv(hom)
    ray3 = np.concatenate([rays, np.ones(rays.shape[:2] + (1,))], axis=2)
    plane = ray3 @ inv.T
    board_xy = plane[..., :2] / plane[..., 2:3]
    behind = plane[..., 2] <= 0
    map_xy = (board_xy * TEXTURE_PX_PER_MM + offset).astype(np.float32)
    map_xy[behind] = -1000.0
    big = cv2.remap(tex, map_xy[..., 0], map_xy[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                    borderValue=BACKGROUND)
    image = cv2.resize(big, (k.width, k.height), interpolation=cv2.INTER_AREA).astype(np.float64)
    image = image * 0.8 + 25.0 + np.random.default_rng(seed).normal(0.0, noise, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def view_poses(board: BoardSpec, k: CameraIntrinsics, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` varied board poses (tilted up to ~35 degrees, spread over the image) keeping the board in view."""
    import cv2

    obj = board.object_points().astype(np.float64)
    centre = (obj.min(axis=0) + obj.max(axis=0)) / 2.0
    # the board spans about half the image width, tilted up to ~40 degrees, pushed towards the corners:
    # wide coverage and strong perspective are what pin down focal length and distortion
    extent = float(np.ptp(obj[:, 0])) + 2.0 * board.square_mm
    z0 = k.fx * extent / (0.5 * k.width)
    tilts = [(0.0, 0.0), (0.7, 0.0), (-0.6, 0.15), (0.0, 0.7), (0.15, -0.65), (0.5, 0.5), (-0.5, -0.45),
             (0.45, -0.5), (-0.4, 0.55), (0.25, 0.3)]
    targets = [(0.5, 0.5), (0.33, 0.33), (0.67, 0.67), (0.33, 0.67), (0.67, 0.33), (0.5, 0.35), (0.35, 0.5),
               (0.65, 0.5), (0.5, 0.65), (0.42, 0.45)]
    poses = []
    for i in range(n):
        ax, ay = tilts[i % len(tilts)]
        rot_vec = np.array([ax, ay, 0.2 * ((i % 3) - 1)])
        rot = cv2.Rodrigues(rot_vec)[0]
        z = z0 * (0.9 + 0.1 * (i % 3))
        fu, fv = targets[i % len(targets)]
        ray = np.array([(fu * k.width - k.cx) / k.fx, (fv * k.height - k.cy) / k.fy, 1.0])
        tvec = ray * z - rot @ centre
        poses.append((rot_vec, tvec))
    return poses


@pytest.fixture(scope="session")
def render_views():
    """A factory: ``render_views(board, camera, n)`` → list of (name, grey image) of ``n`` poses."""
    cache: dict = {}

    def make(board: BoardSpec, k: CameraIntrinsics = TRUE_CAMERA, n: int = 8) -> list[tuple[str, np.ndarray]]:
        key = (str(board), k, n)
        if key not in cache:
            rays = _rays(k)
            cache[key] = [(f"view{i:02d}.png", render_view(board, k, r, t, rays, seed=i))
                          for i, (r, t) in enumerate(view_poses(board, k, n))]
        return cache[key]

    return make


@pytest.fixture(scope="session")
def true_camera() -> CameraIntrinsics:
    return TRUE_CAMERA


@pytest.fixture(scope="session")
def board_synth():
    """The renderer's pieces for tests that choose their own poses or cameras."""
    import types

    return types.SimpleNamespace(render_view=render_view, view_poses=view_poses, rays=_rays,
                                 board_texture=board_texture)
