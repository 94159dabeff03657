"""The mesh's edges: each undirected edge once, and each face's three edges found by id."""
from __future__ import annotations

import numpy as np

from models.hand.contact import mesh_edges
from models.hand.model import load_hand_model


def test_mesh_edges_lists_each_edge_once_and_maps_every_face_to_its_own():
    faces = np.asarray(load_hand_model().faces, np.int64)
    edges, face_edges = mesh_edges(faces)
    assert (edges[:, 0] < edges[:, 1]).all() and len(np.unique(edges, axis=0)) == len(edges)
    assert len(edges) == 3 * len(faces) // 2  # a closed mesh: every edge shared by two faces
    for k, (a, b) in enumerate([(0, 1), (1, 2), (2, 0)]):
        np.testing.assert_array_equal(edges[face_edges[:, k]], np.sort(faces[:, [a, b]], axis=1))
