"""More vertices where the hand's surface folds (issue 26): tried, not shipped (`BuildOptions.refine` is off).

Why: with ~7 mm edges a 90° bend of a knuckle spans about two edges along the finger, so a tight fist shows flat
facets over the knuckles. Here the edges that run along a finger across a bending joint (on its back, optionally
its pad) are split; the old vertices keep their ids, positions, shape directions, skinning and correctives (the
joint regressor and the fingertip keypoints use them), so joints and keypoints do not move for any (θ, β). The new
ones are appended, put on the implicit surface the rest mesh comes from, and never enter the joint regressor;
their shape directions are what the shape PCA gives any vertex (the samples' displacements on the components'
sample scores), their skinning weights come from `rig.skinning_weights`, and their correctives are fitted like
the others' to targets: the butterfly rule on the posed, already fitted old mesh.

Why not shipped: the new short edges over a bent knuckle show its real stretch, which the old long, oblique edges
averaged out: the closed hands' max stretch went 2.10 -> 2.4-2.5 (poses within 2x: 95 % -> 2-5 %) in every
variant tried, even with ten new vertices; refitting every vertex's correctives on the refined mesh instead moved
flips, stretch and penetration on the real poses the wrong way too.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.hand.contact import finger_shares, mesh_edges
from models.hand.correctives import solve_correctives
from models.hand.model import chain_transforms, rodrigues
from models.hand.rig import finger_chains, finger_membership
from models.hand.skeleton import FINGER_JOINTS, FINGERS, PARENTS, joint_axes
from models.hand.surface import hand_sdf


@dataclass(frozen=True)
class RefineOptions:
    """Which edges are split and how the new vertices follow a pose (the last configuration tried; see
    `BuildOptions.refine`)."""

    band: tuple[float, float, float] = (0.0, 0.006, 0.006)  # metres along the finger from the joint: MCP, PIP,
    # DIP (the MCP's back is left alone: vertices there changed where curled fingertips count as sunk in)
    pads: bool = False  # also the pads (their creases fold in, and added triangles there flipped)
    pad_band: float = 0.7  # the pads' band, as a share of `band` (a crease folds over a shorter length)
    reach: float = 0.016  # metres: only edges whose midpoint is this close to the joint
    along: float = 0.7  # |cos| between an edge and the finger's bone above which the edge runs along the finger
    facing: float = 0.5  # |cos| between the midpoint's direction from the bone and the bend's plane normal: above
    pad_facing: float = 0.7  # it the edge is on the back (or, for `pad_facing`, the pad); the sides fold little
    crossing: bool = True  # only edges with ends on both sides of the joint's plane (two split edges in a row
    # along the finger make an edge between their midpoints that the bend stretches most)
    min_length: float = 0.0055  # metres: shorter edges stay whole (their halves would stretch the most when bent)
    min_corner: float = 0.003  # metres: an edge whose midpoint is closer to a corner across it stays whole
    flip_passes: int = 4  # rounds of Delaunay edge flips around the new vertices
    flip_crease: float = 0.85  # cos of the largest angle between two triangles whose shared edge may flip
    tension: float = 1.0 / 16.0  # of the butterfly rule that places the new vertices in a pose (see `butterfly`)


def fold_edges(verts: np.ndarray, edges: np.ndarray, options: RefineOptions = RefineOptions()) -> np.ndarray:
    """(E,) which edges run along a finger across one of its bending joints, on the back or the pad."""
    chains = finger_chains()
    axes = joint_axes()
    mid = 0.5 * (verts[edges[:, 0]] + verts[edges[:, 1]])
    direction = verts[edges[:, 1]] - verts[edges[:, 0]]
    length = np.linalg.norm(direction, axis=1)
    direction /= length[:, None]
    owner = np.argmax(finger_membership(mid)[0], axis=1)
    chosen = np.zeros(len(edges), dtype=bool)
    for fi, finger in enumerate(FINGERS):
        c = chains[finger]
        for k, joint in enumerate(FINGER_JOINTS[finger]):
            if finger == "thumb" and k == 0:
                continue  # the thumb's base bends inside the thenar pad, not at a knuckle
            bone = (c[k + 1] - c[k]) / np.linalg.norm(c[k + 1] - c[k])
            back_dir = np.cross(bone, axes[joint, 0])  # bending turns the finger away from it
            back_dir /= np.linalg.norm(back_dir)
            rel = mid - c[k]
            s = rel @ bone
            radial = rel - s[:, None] * bone
            side = radial @ back_dir
            back = side > options.facing * np.linalg.norm(radial, axis=1)
            pad = (-side > options.pad_facing * np.linalg.norm(radial, axis=1)) & options.pads
            band = np.where(back, options.band[k], options.pad_band * options.band[k])
            ends = ((verts[edges[:, 0]] - c[k]) @ bone) * ((verts[edges[:, 1]] - c[k]) @ bone)
            across = (ends < 0) | (not options.crossing)  # one split per row along the finger: no short edge
            chosen |= ((owner == fi) & (back | pad) & (np.abs(s) < band) & across
                       & (np.linalg.norm(rel, axis=1) < options.reach)
                       & (np.abs(direction @ bone) > options.along) & (length > options.min_length))
    return chosen


def _split_face(face: np.ndarray, mids: np.ndarray, verts: np.ndarray) -> list[list[int]]:
    """One triangle (a, b, c) cut at the midpoints `mids` of edges ab, bc, ca (-1 where not split), same winding."""
    split = mids >= 0
    if not split.any():
        return [list(face)]
    # Rotate so edge ab is split and, with two splits, bc is the other one.
    for r in range(3):
        s = np.roll(split, -r)
        if s[0] and (s.sum() != 2 or s[1]):
            break
    a, b, c = np.roll(face, -r)
    m_ab, m_bc, m_ca = np.roll(mids, -r)
    if split.sum() == 1:
        return [[a, m_ab, c], [m_ab, b, c]]
    if split.sum() == 3:
        return [[a, m_ab, m_ca], [m_ab, b, m_bc], [m_ca, m_bc, c], [m_ab, m_bc, m_ca]]
    # Two splits: the corner triangle at b, and the quad a, m_ab, m_bc, c cut along its shorter diagonal.
    out = [[m_ab, b, m_bc]]
    if np.linalg.norm(verts[a] - verts[m_bc]) <= np.linalg.norm(verts[m_ab] - verts[c]):
        return out + [[a, m_ab, m_bc], [a, m_bc, c]]
    return out + [[a, m_ab, c], [m_ab, m_bc, c]]


def _sdf_gradient(p: np.ndarray, h: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """`hand_sdf` at p (N,) and its forward-difference gradient (N, 3)."""
    d = hand_sdf(p)
    return d, np.stack([(hand_sdf(p + h * np.eye(3)[i]) - d) / h for i in range(3)], axis=1)


def project_to_surface(points: np.ndarray, steps: int = 4) -> np.ndarray:
    """Points moved onto the implicit hand's zero level set (Newton steps along the field's gradient)."""
    p = points.copy()
    for _ in range(steps):
        d, grad = _sdf_gradient(p)
        p = p - d[:, None] * grad / np.maximum((grad * grad).sum(axis=1, keepdims=True), 1e-12)
    return p


def _corner_angle(at: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    u, w = b - at, c - at
    return float(np.arccos(np.clip(u @ w / (np.linalg.norm(u) * np.linalg.norm(w)), -1.0, 1.0)))


def _unit_normal(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    n = np.cross(b - a, c - a)
    return n / max(float(np.linalg.norm(n)), 1e-18)


def delaunay_flips(verts: np.ndarray, faces: np.ndarray, first: int, passes: int, crease: float) -> np.ndarray:
    """Flip edges whose two opposite corners sum to more than 180° (the Delaunay test), where the new edge ends at
    a vertex from `first` on (an edge between two old vertices across a fold would stretch more than any of
    theirs did) and the two triangles are nearly coplanar (cos of their angle above
    `crease`). Why: a split edge's midpoint joined to the far corner of a flat triangle makes a sliver with a short
    edge; joining it to the better-placed corner instead keeps the triangles round. Old vertices do not move."""
    faces = faces.copy()
    for _ in range(passes):
        owner = {(int(a), int(b)): fi for fi, tri in enumerate(faces) for a, b in zip(tri, np.roll(tri, -1))}
        touched = np.zeros(len(faces), dtype=bool)
        flipped = 0
        for (p, q), f1 in sorted(owner.items()):
            f2 = owner.get((q, p))
            if p > q or f2 is None or touched[f1] or touched[f2]:
                continue
            r = int(next(x for x in faces[f1] if x not in (p, q)))
            s = int(next(x for x in faces[f2] if x not in (p, q)))
            if max(r, s) < first or (r, s) in owner or (s, r) in owner:  # no new edge between old vertices
                continue
            vp, vq, vr, vs = verts[p], verts[q], verts[r], verts[s]
            if _corner_angle(vr, vp, vq) + _corner_angle(vs, vp, vq) <= np.pi + 1e-9:
                continue
            n1, n2 = _unit_normal(vp, vq, vr), _unit_normal(vq, vp, vs)
            m1, m2 = _unit_normal(vp, vs, vr), _unit_normal(vs, vq, vr)
            if n1 @ n2 < crease or m1 @ m2 < crease or min(m1 @ n1, m2 @ n1, m1 @ n2, m2 @ n2) < crease:
                continue
            faces[f1], faces[f2] = (p, s, r), (s, q, r)
            touched[[f1, f2]] = True
            owner[(r, s)] = owner[(s, r)] = -1  # taken: no second flip may create it again this pass
            flipped += 1
        if not flipped:
            break
    return faces


def butterfly(tension: float) -> np.ndarray:
    """The butterfly rule's weights for (p, q, the two corners across, the four wings): 1/16 is the classic
    (interpolating, smooth) scheme, 0 the edge's midpoint."""
    return np.array([0.5, 0.5, 2 * tension, 2 * tension, -tension, -tension, -tension, -tension])


def butterfly_stencils(faces: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """(N, 8) per edge (p, q) of a closed mesh the vertices of its butterfly: p, q, the two corners across it and
    the four corners across those triangles' other edges (weights: `butterfly`)."""
    third = {(int(a), int(b)): int(c) for tri in faces for a, b, c in (tri, np.roll(tri, -1), np.roll(tri, -2))}
    out = []
    for p, q in pairs:
        p, q = int(p), int(q)
        r, s = third[(p, q)], third[(q, p)]
        out.append([p, q, r, s, third[(r, q)], third[(p, r)], third[(s, p)], third[(q, s)]])
    return np.asarray(out, dtype=np.int64).reshape(-1, 8)


def refine_folds(verts: np.ndarray, faces: np.ndarray, options: RefineOptions = RefineOptions()
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rest mesh with the fold edges split: the old vertices first (unchanged), the new ones after them on
    the implicit surface, the faces re-cut with the same outward winding, and per new vertex the butterfly
    stencil (N, 8) of its edge in the old mesh."""
    edges, face_edges = mesh_edges(faces)
    split = fold_edges(verts, edges, options)
    mid = 0.5 * (verts[edges[:, 0]] + verts[edges[:, 1]])
    corner = np.full(len(edges), np.inf)
    for k in range(3):  # edge k of a face (ab, bc, ca) lies across from corner k + 2
        ids = face_edges[:, k]
        np.minimum.at(corner, ids, np.linalg.norm(mid[ids] - verts[faces[:, (k + 2) % 3]], axis=1))
    split &= corner > options.min_corner
    new_id = np.full(len(edges), -1, dtype=np.int64)
    new_id[split] = len(verts) + np.arange(int(split.sum()))
    new_verts = project_to_surface(0.5 * (verts[edges[split, 0]] + verts[edges[split, 1]]))
    all_verts = np.concatenate([verts, new_verts])
    out = [tri for face, ids in zip(faces, face_edges) for tri in _split_face(face, new_id[ids], all_verts)]
    out = delaunay_flips(all_verts, np.asarray(out, dtype=faces.dtype), len(verts), options.flip_passes,
                         options.flip_crease)
    return all_verts, out, butterfly_stencils(faces, edges[split])


def extend_shapedirs(verts: np.ndarray, shapedirs: np.ndarray, samples_v: np.ndarray, new_verts: np.ndarray,
                     new_samples: np.ndarray) -> np.ndarray:
    """`shapedirs` (V + N, 3, K) for vertices added after the shape PCA, leaving the old rows as they are.

    The PCA's basis is (vt_i * s_i / sqrt(n)); the samples' scores on component i are u_i sqrt(n) = disp @ b_i /
    |b_i|², and a new vertex's row is its displacements over the samples times u_i / sqrt(n): what the same PCA
    gives a vertex that did not weigh in its covariance.
    """
    n, num = len(samples_v), shapedirs.shape[2]
    basis = shapedirs.transpose(2, 0, 1).reshape(num, -1)  # (K, 3V)
    disp = (samples_v - verts[None]).reshape(n, -1)
    scores = (disp @ basis.T) / (basis * basis).sum(axis=1)  # (n, K)
    new_disp = (new_samples - new_verts[None]).reshape(n, -1)
    new_rows = (new_disp.T @ scores / n).reshape(len(new_verts), 3, num)
    return np.concatenate([shapedirs, new_rows])


def _edge_frames(verts: np.ndarray, stencils: np.ndarray) -> np.ndarray:
    """(N, 3, 3) per stencil's edge (p, q) the rows: along the edge, the normal (of its two triangles), and their
    cross product."""
    p, q, r, s = (verts[stencils[:, k]] for k in range(4))
    along = (q - p) / np.linalg.norm(q - p, axis=1, keepdims=True)
    normal = np.cross(q - p, r - p) + np.cross(p - q, s - q)
    normal -= (normal * along).sum(axis=1, keepdims=True) * along
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    return np.stack([along, normal, np.cross(along, normal)], axis=1)


def fit_added_correctives(verts: np.ndarray, weights: np.ndarray, regressor: np.ndarray, initial: np.ndarray,
                          fitted: np.ndarray, stencils: np.ndarray, poses: np.ndarray, ridge: float,
                          tension: float) -> np.ndarray:
    """`posedirs` (V, 3, 135): the first len(`fitted`) rows as fitted on the mesh before refining; the added
    vertices' rows fitted (ridge, towards their single-joint `initial`, as `solve_correctives` does) so that in each
    of `poses` they sit where the butterfly rule puts them on the posed old mesh, plus their rest offset from it
    kept in the frame of their edge (along it, its normal), so neighbouring new vertices move alike.

    Why the posed old mesh and not the implicit hand: the old vertices are where the full fit's contact and
    stretch rounds left them, off the implicit surface by a few millimetres; new vertices placed on that surface
    between them stretch their short edges (3x in a fist). The butterfly rule interpolates the old vertices
    smoothly, so the new ones round the folds off without pulling away.
    """
    first = len(fitted)
    posedirs = initial.copy()
    posedirs[:first] = fitted
    joints = (regressor @ verts)[None]
    rule = butterfly(tension)
    detail = np.einsum("nij,nj->ni", _edge_frames(verts, stencils), verts[first:] - rule @ verts[stencils])
    offsets = np.zeros((len(poses), len(verts), 3))
    features = np.empty((len(poses), 135))
    for i, pose in enumerate(poses):
        rots = rodrigues(np.concatenate([np.zeros(3), pose]).reshape(1, 16, 3))
        world_r, _, skin_t = chain_transforms(PARENTS, rots, joints)
        m, t = np.einsum("vb,bij->vij", weights, world_r[0]), weights @ skin_t[0]
        features[i] = (rodrigues(pose.reshape(15, 3)) - np.eye(3)).reshape(-1)
        posed = np.einsum("vij,vj->vi", m, verts + posedirs @ features[i]) + t
        frames = _edge_frames(posed, stencils)
        target = np.einsum("k,nkd->nd", rule, posed[stencils]) + np.einsum("nji,nj->ni", frames, detail)
        offsets[i, first:] = np.linalg.solve(m[first:], (target - t[first:])[..., None])[..., 0] - verts[first:]
    share = finger_shares(weights)
    uses = np.zeros((len(verts), 5), dtype=bool)
    uses[first:] = (share[stencils] > 0).any(axis=1)  # the joints of every finger its stencil follows
    return solve_correctives(offsets, features, uses, posedirs, np.zeros(0, dtype=np.int64), ridge)
