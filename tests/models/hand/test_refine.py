"""Vertices added where the surface folds: a closed mesh still, and joints and keypoints exactly where they were."""
from __future__ import annotations

import numpy as np

from models.hand.builder import BuildOptions, rest_mesh
from models.hand.contact import mesh_edges
from models.hand.refine import RefineOptions, extend_shapedirs, fold_edges, refine_folds
from models.hand.rig import shape_basis, shape_samples, skinning_weights
from models.hand.surface import hand_sdf

COARSE = BuildOptions(grid_step=0.003, target_vertices=500)


def test_refined_mesh_keeps_old_vertices_and_stays_closed():
    verts, faces = rest_mesh(COARSE)
    edges, _ = mesh_edges(faces)
    options = RefineOptions(band=(0.005, 0.0045, 0.004), pads=True)
    assert 0 < fold_edges(verts, edges, options).sum() < 0.3 * len(verts)
    new_v, new_f, stencils = refine_folds(verts, faces, options)
    assert len(new_v) == len(verts) + len(stencils) > len(verts)
    assert stencils.max() < len(verts)  # butterflies over the old mesh only
    np.testing.assert_array_equal(new_v[:len(verts)], verts)
    assert np.abs(hand_sdf(new_v[len(verts):])).max() < 2e-4  # on the implicit surface
    mid = new_v[stencils[:, :2]].mean(axis=1)
    assert np.linalg.norm(new_v[len(verts):] - mid, axis=1).max() < 0.002  # near the edge each one splits
    directed = {tuple(e) for e in np.concatenate([new_f[:, [0, 1]], new_f[:, [1, 2]], new_f[:, [2, 0]]])}
    assert len(directed) == 3 * len(new_f)  # every directed edge once, its reverse once: closed and consistently wound
    assert all((b, a) in directed for a, b in directed)
    assert len(new_v) - len(directed) // 2 + len(new_f) == 2  # still genus 0
    a, b, c = (new_v[new_f[:, k]] for k in range(3))
    volume = np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0
    a, b, c = (verts[faces[:, k]] for k in range(3))
    assert volume > np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0  # new vertices bulge out onto the surface


def test_extended_shapedirs_are_the_pcas_rows():
    verts, _ = rest_mesh(COARSE)
    samples, _ = shape_samples(verts, skinning_weights(verts), 40, np.random.default_rng(3))
    basis, _ = shape_basis(verts, samples)
    # Rows for vertices the PCA saw come out as the PCA's own; the old rows are left as they are.
    extended = extend_shapedirs(verts, basis, samples, verts[:50], samples[:, :50])
    np.testing.assert_array_equal(extended[:len(verts)], basis)
    np.testing.assert_allclose(extended[len(verts):], basis[:50], atol=1e-12)
