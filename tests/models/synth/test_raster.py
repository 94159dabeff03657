"""The vectorised rasterizer against a brute-force per-triangle reference, on simple closed meshes."""
from __future__ import annotations

import numpy as np
import pytest

from models.synth.raster import front_sign, rasterize


def icosphere(subdivisions: int = 2) -> tuple[np.ndarray, np.ndarray]:
    t = (1 + 5 ** 0.5) / 2
    v = [[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t], [0, -1, -t], [0, 1, -t],
         [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]]
    f = [[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4], [11, 10, 2],
         [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8], [3, 8, 9], [4, 9, 5], [2, 4, 11],
         [6, 2, 10], [8, 6, 7], [9, 8, 1]]
    verts = [np.array(p, float) / np.linalg.norm(p) for p in v]
    faces = f
    for _ in range(subdivisions):
        cache: dict[tuple[int, int], int] = {}

        def mid(a: int, b: int, cache: dict[tuple[int, int], int] = cache) -> int:
            key = (min(a, b), max(a, b))
            if key not in cache:
                m = verts[a] + verts[b]
                verts.append(m / np.linalg.norm(m))
                cache[key] = len(verts) - 1
            return cache[key]
        new = []
        for a, b, c in faces:
            ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
            new += [[a, ab, ca], [b, bc, ab], [c, ca, bc], [ab, bc, ca]]
        faces = new
    return np.array(verts), np.array(faces)


def brute_force_depth(screen: np.ndarray, faces: np.ndarray, h: int, w: int, perspective: bool) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    zbuf = np.full((h, w), np.inf)
    for f in faces:
        (x0, y0, z0), (x1, y1, z1), (x2, y2, z2) = screen[f]
        area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
        if abs(area) < 1e-12:
            continue
        b0 = ((x1 - xx) * (y2 - yy) - (x2 - xx) * (y1 - yy)) / area
        b1 = ((x2 - xx) * (y0 - yy) - (x0 - xx) * (y2 - yy)) / area
        b2 = 1 - b0 - b1
        inside = (b0 >= -1e-9) & (b1 >= -1e-9) & (b2 >= -1e-9)
        z = 1 / (b0 / z0 + b1 / z1 + b2 / z2) if perspective else b0 * z0 + b1 * z1 + b2 * z2
        zbuf = np.where(inside & (z < zbuf), z, zbuf)
    return zbuf


@pytest.mark.parametrize("perspective", [False, True])
def test_sphere_matches_brute_force_and_culling_changes_nothing(perspective: bool) -> None:
    verts, faces = icosphere(2)
    h, w = 48, 64
    if perspective:
        cam = verts * 0.1 + np.array([0.02, -0.01, 0.5])
        screen = np.c_[100 * cam[:, 0] / cam[:, 2] + 31.5, 100 * cam[:, 1] / cam[:, 2] + 23.5, cam[:, 2]]
    else:
        screen = np.c_[verts[:, 0] * 20 + 30.2, verts[:, 1] * 20 + 22.7, verts[:, 2]]
    ref = brute_force_depth(screen, faces, h, w, perspective)
    full = rasterize(screen, faces, h, w, perspective=perspective)
    culled = rasterize(screen, faces, h, w, perspective=perspective, front=front_sign(verts, faces))
    for r in (full, culled):
        got = r.depth_image(np.inf)
        assert np.array_equal(np.isfinite(got), np.isfinite(ref))
        np.testing.assert_allclose(got[np.isfinite(ref)], ref[np.isfinite(ref)], atol=1e-5)
    wrong = rasterize(screen, faces, h, w, perspective=perspective, front=-front_sign(verts, faces))
    assert np.median(wrong.depth - culled.depth_image(np.inf).ravel()[wrong.pixels]) > 0.05  # it sees the far side


def test_sphere_area_and_nearest_surface() -> None:
    verts, faces = icosphere(3)
    r = rasterize(np.c_[verts[:, :2] * 40 + 50, verts[:, 2]], faces, 101, 101)
    # a radius-40 disc: pi r^2 pixels (the polyhedron is slightly inside the sphere)
    assert abs(r.mask.sum() - np.pi * 40 ** 2) / (np.pi * 40 ** 2) < 0.02
    # orthographic, smaller z nearer: the visible surface at the centre is the z = -1 pole
    assert r.depth_image()[50, 50] == pytest.approx(-1.0, abs=0.01)


def test_barycentrics_reproduce_pixel_positions_and_faces_are_visible_ones() -> None:
    rng = np.random.default_rng(0)
    screen = np.c_[rng.uniform(0, 40, (30, 2)), rng.uniform(1, 2, 30)]
    faces = rng.integers(0, 30, (20, 3))
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    r = rasterize(screen, faces, 40, 40)
    xy = np.einsum("pk,pkc->pc", r.bary.astype(float), screen[faces[r.face]][:, :, :2])
    np.testing.assert_allclose(xy, np.c_[r.pixels % 40, r.pixels // 40], atol=1e-3)
    assert np.all(r.bary >= 0) and np.allclose(r.bary.sum(1), 1, atol=1e-5)


def test_bad_input_raises() -> None:
    with pytest.raises(ValueError, match="in front of the camera"):
        rasterize(np.array([[0, 0, -1.0], [5, 0, 1], [0, 5, 1]]), np.array([[0, 1, 2]]), 8, 8, perspective=True)
    with pytest.raises(ValueError, match=r"\(V, 3\)"):
        rasterize(np.zeros((3, 2)), np.array([[0, 1, 2]]), 8, 8)


def test_a_batch_of_frames_equals_frame_by_frame() -> None:
    verts, faces = icosphere(1)
    rng = np.random.default_rng(5)
    screens = np.stack([np.c_[verts[:, :2] * rng.uniform(5, 15) + rng.uniform(5, 25, 2), verts[:, 2] + 3]
                        for _ in range(3)])
    batch = rasterize(screens, faces, 30, 32, perspective=True)
    assert batch.mask.shape == (3, 30, 32)
    for t in range(3):
        one = rasterize(screens[t], faces, 30, 32, perspective=True)
        np.testing.assert_array_equal(batch.depth_image()[t], one.depth_image())


def test_open_meshes_are_never_culled() -> None:
    verts, faces = icosphere(1)
    assert front_sign(verts, faces) != 0
    assert front_sign(verts, faces[1:]) == 0  # one triangle missing: a hole


def test_hand_and_forearm_meshes_are_closed_and_wound_alike(hand_model) -> None:
    from models.synth.render_depth import forearm_mesh

    arm_v, arm_f = forearm_mesh()
    assert front_sign(hand_model.v_template, hand_model.faces) == front_sign(arm_v, arm_f) != 0
