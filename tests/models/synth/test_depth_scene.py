"""Scene elements around the hand: where the body and the table lie, and a stable number of draws."""
from __future__ import annotations

import numpy as np
import pytest

from calibration.intrinsics import CameraIntrinsics
from models.synth.depth_scene import PLAIN_SCENE, SceneOptions, draw_scene, scene_depth, sleeve_mesh

K = CameraIntrinsics(fx=600.0, fy=600.0, cx=319.5, cy=239.5, width=640, height=480)
CENTRE = np.array([0.0, 0.0, 500.0])


def test_body_lies_behind_the_hand_by_the_drawn_gap() -> None:
    options = SceneOptions(sleeve=0.0, body=1.0, table=0.0)
    for seed in range(5):
        scene = draw_scene(options, CENTRE, np.random.default_rng(seed))
        x0, z_surface, radius, top = scene.body
        assert 100.0 <= z_surface - CENTRE[2] <= 500.0
        depth = scene_depth(scene, K)
        u = int(round(x0 / z_surface * K.fx + K.cx))
        if 0 <= u < K.width:  # the torso's nearest line, below its top
            v = int(np.ceil(max(top / z_surface * K.fy + K.cy, 0))) + 2
            assert depth[min(v, K.height - 1), u] == pytest.approx(z_surface, abs=1.0)
        seen = depth[depth > 0]
        assert seen.min() >= z_surface - 1.0 and seen.max() <= z_surface + radius + 1.0


def test_table_is_a_plane_below_the_hand() -> None:
    scene = draw_scene(SceneOptions(sleeve=0.0, body=0.0, table=1.0), CENTRE, np.random.default_rng(1))
    point, normal, near, far = scene.table
    assert point[1] > CENTRE[1]  # below (camera y points down)
    depth = scene_depth(scene, K)
    v, u = np.nonzero(depth > 0)
    assert len(v) > 1000
    xyz = np.stack([(u - K.cx) / K.fx * depth[v, u], (v - K.cy) / K.fy * depth[v, u], depth[v, u]], axis=1)
    np.testing.assert_allclose((xyz - point) @ normal, 0.0, atol=0.5)
    assert depth[v, u].min() >= near and depth[v, u].max() <= far


def test_the_number_of_draws_does_not_depend_on_the_options() -> None:
    """What is drawn after the scene (the sensor profile) must not change when the scene options do."""
    a, b = np.random.default_rng(9), np.random.default_rng(9)
    draw_scene(PLAIN_SCENE, CENTRE, a)
    draw_scene(SceneOptions(sleeve=1.0, body=1.0, table=1.0), CENTRE, b)
    assert a.random() == b.random()
    assert scene_depth(draw_scene(PLAIN_SCENE, CENTRE, np.random.default_rng(0)), K) is None


def test_sleeve_is_wider_than_the_forearm_and_starts_up_the_arm() -> None:
    from models.synth.render_depth import forearm_mesh

    arm, _ = forearm_mesh(12, 0.16)
    sleeve, faces = sleeve_mesh(0.05, 0.01, 0.16)
    assert sleeve[:, 0].min() == pytest.approx(-0.01 + 0.05 / 0.16 * 0.17)  # 5 cm of the arm, from -1 cm
    assert np.linalg.norm(sleeve[:12, 1:], axis=1).min() > np.linalg.norm(arm[:12, 1:], axis=1).max()
    assert faces.max() == len(sleeve) - 1


def test_bad_scene_options() -> None:
    with pytest.raises(ValueError, match="sleeve"):
        SceneOptions(sleeve=1.5)
