"""Where one part of a posed hand mesh (a finger, or the palm) has sunk into a neighbouring part.

Why one module: the quality measure (`models.hand.quality.penetration`) and the pose correctives' contact rounds
(`models.hand.correctives`) must agree on what counts as sinking in, so both use this. A vertex has sunk in when a
point just outside it is inside the closed posed mesh (ray parity, majority of 3 rays) *and* it lies behind the
nearest triangle of another part, away from the seams where the two are joined at rest.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.hand.skeleton import FINGER_JOINTS, FINGERS

# Neighbouring fingers (parts 1..5 are FINGERS in order; part 0 is the palm).
FINGER_PAIRS = ((0, 1), (1, 2), (2, 3), (3, 4))


def finger_shares(weights: np.ndarray) -> np.ndarray:
    """(V, 5) the share of each vertex's skinning weight that each finger's joints carry (FINGERS order)."""
    return np.stack([weights[:, list(FINGER_JOINTS[f])].sum(axis=1) for f in FINGERS], axis=1)


def vertex_parts(weights: np.ndarray) -> np.ndarray:
    """(V,) 0 for the palm, 1..5 for the finger (FINGERS order) that carries most of the vertex's skinning weight."""
    share = finger_shares(weights)
    part = np.argmax(share, axis=1) + 1
    part[share.max(axis=1) < 0.5] = 0
    return part


def mesh_edges(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The undirected edges of a triangle mesh, each once and sorted (E, 2), and per face the ids of its edges
    ab, bc, ca (F, 3)."""
    half = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    edges, inverse = np.unique(half, axis=0, return_inverse=True)
    return edges, inverse.reshape(3, len(faces)).T


def geodesic_to_parts(verts: np.ndarray, faces: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """(V, 6) distance along the rest mesh's edges from each vertex to the nearest vertex of each part."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    e, _ = mesh_edges(faces)
    length = np.linalg.norm(verts[e[:, 0]] - verts[e[:, 1]], axis=1)
    n = len(verts)
    graph = coo_matrix((np.r_[length, length], (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])), shape=(n, n))
    out = np.empty((n, 6))
    for p in range(6):
        out[:, p] = dijkstra(graph.tocsr(), indices=np.flatnonzero(parts == p), min_only=True)
    return out


def _scene(verts: np.ndarray, faces: np.ndarray):
    import open3d as o3d

    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(verts.astype(np.float32)), o3d.core.Tensor(faces.astype(np.uint32)))
    return scene


def vertex_normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) unit area-weighted vertex normals."""
    face_n = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]])
    vn = np.zeros_like(verts)
    for k in range(3):
        np.add.at(vn, faces[:, k], face_n)
    return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-18)


@dataclass
class Contacts:
    """Vertices sunk into a neighbouring part in one posed mesh."""

    vertex: np.ndarray  # (K,) vertex ids
    own: np.ndarray  # (K,) the vertex's part
    other: np.ndarray  # (K,) the part it sank into
    point: np.ndarray  # (K, 3) nearest point on that part's surface
    face: np.ndarray  # (K,) the triangle that point lies on
    depth: np.ndarray  # (K,) metres

    def deepest(self) -> tuple[float, float]:
        """The deepest penetration between two fingers and between a finger and the palm (metres, 0 if none)."""
        palm = (self.own == 0) | (self.other == 0)
        fingers = float(self.depth[~palm].max()) if (~palm).any() else 0.0
        return fingers, float(self.depth[palm].max()) if palm.any() else 0.0


class ContactFinder:
    """The rest-mesh bookkeeping (parts, seams) for finding sunk-in vertices in posed copies of one mesh."""

    def __init__(self, verts: np.ndarray, faces: np.ndarray, weights: np.ndarray, seam: float = 0.006) -> None:
        self.faces = faces
        self.parts = vertex_parts(weights)
        self.geodesic = geo = geodesic_to_parts(verts, faces, self.parts)
        face_part = self.parts[faces]
        self.face_part = np.where(np.all(face_part == face_part[:, :1], axis=1), face_part[:, 0], -1)  # -1: seam
        self.eligible = {}
        for a in range(6):
            far = np.all(geo[faces, a] > seam, axis=1) & (self.face_part >= 0) & (self.face_part != a)
            self.eligible[a] = np.flatnonzero(far)
        pairs = {frozenset((a + 1, b + 1)) for a, b in FINGER_PAIRS} | {frozenset((0, f)) for f in range(1, 6)}
        self.neighbours = np.zeros((7, 7), dtype=bool)  # indexed by part + 1 (so -1, a seam, is never one)
        for pair in pairs:
            a, b = sorted(pair)
            self.neighbours[a + 1, b + 1] = self.neighbours[b + 1, a + 1] = True

    def find(self, verts: np.ndarray) -> Contacts:
        """The sunk-in vertices of one posed mesh (V, 3)."""
        import open3d as o3d

        faces = self.faces
        probe = (verts + 2e-4 * vertex_normals(verts, faces)).astype(np.float32)
        inside = _scene(verts, faces).compute_occupancy(o3d.core.Tensor(probe), nthreads=1, nsamples=3).numpy() > 0.5
        found = []
        for a in range(6):
            query = np.flatnonzero(inside & (self.parts == a))
            if len(query) == 0 or len(self.eligible[a]) == 0:
                continue
            res = _scene(verts, faces[self.eligible[a]]).compute_closest_points(o3d.core.Tensor(probe[query]),
                                                                                  nthreads=1)
            point = res["points"].numpy().astype(np.float64)
            delta = verts[query] - point
            behind = np.einsum("ij,ij->i", delta, res["primitive_normals"].numpy()) < 0
            face = self.eligible[a][res["primitive_ids"].numpy().astype(np.int64)]
            other = self.face_part[face]
            keep = behind & self.neighbours[a + 1, other + 1]
            found.append((query[keep], np.full(keep.sum(), a), other[keep], point[keep], face[keep],
                          np.linalg.norm(delta[keep], axis=1)))
        if not found:
            return Contacts(np.zeros(0, int), np.zeros(0, int), np.zeros(0, int), np.zeros((0, 3)), np.zeros(0, int),
                            np.zeros(0))
        return Contacts(*[np.concatenate(x) for x in zip(*found)])
