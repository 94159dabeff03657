"""The open hand model generator: a closed surface, deterministic output, and the shipped file reproducible."""
from __future__ import annotations

import numpy as np
import pytest

from models.hand.builder import BuildOptions, build_hand_model, model_digest
from models.hand.correctives import CorrectiveOptions
from models.hand.file import read_hand_file
from models.hand.model import OPEN_MODEL_PATH, load_hand_model
from models.hand.quality import line_hits
from models.hand.surface import surface_nets

FAST = BuildOptions(grid_step=0.003, target_vertices=500, shape_samples=30, pose_samples=2000,
                    correctives=CorrectiveOptions(real_poses=6, closed_poses=3, bends=(90.0,), iterations=2))


def _edges(faces: np.ndarray) -> np.ndarray:
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    return e


def test_shipped_surface_is_closed_manifold_and_hand_sized():
    o3d = pytest.importorskip("open3d")
    model = load_hand_model(OPEN_MODEL_PATH)
    verts, faces = model.v_template, model.faces
    assert 800 <= model.num_vertices <= 1600
    mesh = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(verts), o3d.utility.Vector3iVector(faces))
    assert mesh.is_edge_manifold() and mesh.is_vertex_manifold()
    assert mesh.is_watertight()  # closed, manifold and without self-intersections
    # Every directed edge appears once and its reverse once: closed and consistently wound.
    directed = {tuple(e) for e in _edges(faces)}
    assert len(directed) == 3 * len(faces)
    assert all((b, a) in directed for a, b in directed)
    # One piece of genus 0 (a hand, no handles): V - E + F == 2.
    assert model.num_vertices - len(directed) // 2 + len(faces) == 2
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    volume = np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0
    assert 2e-4 < volume < 6e-4  # 200-600 cm³, outward-facing triangles
    extent = verts.max(axis=0) - verts.min(axis=0)
    assert 0.16 < extent[0] < 0.24  # wrist to middle fingertip about 18 cm


def test_surface_nets_closes_a_sphere():
    step = 0.1
    axes = np.arange(-1.5, 1.5 + 1e-9, step)
    grid = np.stack(np.meshgrid(axes, axes, axes, indexing="ij"), axis=-1)
    verts, faces = surface_nets(np.linalg.norm(grid, axis=-1) - 1.0, np.full(3, -1.5), step)
    assert np.abs(np.linalg.norm(verts, axis=1) - 1.0).max() < 0.05
    directed = {tuple(e) for e in _edges(faces)}
    assert all((b, a) in directed for a, b in directed)
    with pytest.raises(ValueError, match="border"):
        surface_nets(np.linalg.norm(grid, axis=-1) - 2.0, np.full(3, -1.5), step)


def test_generator_is_deterministic_and_valid():
    first = build_hand_model(FAST)
    second = build_hand_model(FAST)
    assert model_digest(first) == model_digest(second)
    assert model_digest(first) != model_digest(build_hand_model(BuildOptions(**{**FAST.__dict__, "seed": 1})))
    weights = first["weights"]
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)
    assert weights.min() >= -1e-12
    regressor = first["J_regressor"]
    np.testing.assert_allclose(regressor.sum(axis=1), 1.0, atol=1e-9)
    assert regressor.min() >= 0


def test_shipped_file_is_what_the_generator_makes():
    shipped = read_hand_file(OPEN_MODEL_PATH)
    rebuilt = build_hand_model()
    assert sorted(k for k in rebuilt) == sorted(k for k in shipped)
    for key, value in rebuilt.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_allclose(shipped[key], value, atol=1e-9, err_msg=key)
        else:
            assert shipped[key] == value


def test_shape_space_varies_size_and_keeps_joints_attached():
    model = load_hand_model(OPEN_MODEL_PATH)
    flat = np.zeros(45)
    base = model.forward(flat)
    bigger = model.forward(flat, np.eye(10)[:1] * 2.0)
    length = lambda out: np.linalg.norm(out.joints[0, 12] - out.joints[0, 0])  # noqa: E731
    assert length(bigger) > 1.05 * length(base)  # the first component is overall size
    rng = np.random.default_rng(0)
    direction = np.array([0.3, 0.5, 0.8]) / np.linalg.norm([0.3, 0.5, 0.8])
    for betas in rng.normal(size=(5, 10)) * 2.0:
        out = model.forward(flat, betas[None])
        verts = out.vertices[0]
        # The regressed joints (not the tips, which are surface vertices) stay inside the reshaped surface.
        for k in range(21):
            if k in (4, 8, 12, 16, 20):
                continue
            hits = line_hits(verts, model.faces, out.joints[0, k], direction)
            hits = hits[hits > 0]  # a ray: the crossings ahead of the joint
            assert len(hits) % 2 == 1, (k, betas)


