"""The open hand model's rest surface: an implicit hand (smooth union of tapered capsules and a rounded palm slab)
turned into a closed triangle mesh by surface nets.

Why implicit: a smooth union gives one closed, seamless skin over palm, webbing and fingers without hand-made
topology, and surface nets (one vertex per boundary cell, one quad per sign-changing grid edge) needs no
lookup tables and yields a closed, consistently oriented mesh that a decimator can bring down to ~1,000 vertices.
"""
from __future__ import annotations

import numpy as np

from models.hand.skeleton import FINGER_JOINTS, FINGER_POINTS, FINGER_RADII, FINGERS, FLATTEN, WRIST


def _smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth minimum: blends two distance fields over a band of width k (webbing, knuckle fillets)."""
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def _tapered_capsule(p: np.ndarray, a: np.ndarray, b: np.ndarray, ra: float, rb: float, flatten: float) -> np.ndarray:
    """Approximate distance to a capsule from a (radius ra) to b (radius rb), squashed along y by `flatten`.

    Only points within 2 cm of the capsule's bounding box are evaluated (the rest get 1 m): far away the exact
    value does not matter to a smooth union, and it keeps the dense grid cheap.
    """
    out = np.ones(p.shape[:-1])
    margin = max(ra, rb) / flatten + 0.02
    lo, hi = np.minimum(a, b) - margin, np.maximum(a, b) + margin
    near = np.all((p >= lo) & (p <= hi), axis=-1)
    q = p[near]
    ab = b - a
    t = np.clip(_dot(q - a, ab) / _dot(ab, ab), 0.0, 1.0)
    q = q - (a + t[:, None] * ab)
    q[:, 1] /= flatten
    out[near] = np.linalg.norm(q, axis=-1) - (ra + (rb - ra) * t)
    return out


def _dot(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """x · v over the last axis, summed in a fixed order: BLAS kernels (chosen per CPU) round matrix-vector
    products differently, and the decimated mesh must not depend on which kernel the machine runs."""
    out = x[..., 0] * v[0]
    for i in range(1, len(v)):
        out = out + x[..., i] * v[i]
    return out


def _palm(p: np.ndarray) -> np.ndarray:
    """A rounded slab whose outline is the palm (narrow at the wrist, wide at the knuckles), thinner at its edges."""
    # Outline in the x-z plane, counter-clockwise seen from +y: wrist edge, thumb side, knuckles, little-finger side.
    outline = np.array([
        [0.100, 0.024], [0.070, 0.033], [0.030, 0.035], [0.010, 0.029], [0.003, 0.006],
        [0.007, -0.017], [0.020, -0.034], [0.040, -0.040], [0.075, -0.034], [0.100, -0.024],
    ])
    xz = p[..., [0, 2]]
    # Signed distance to a convex polygon: max over edges of the outward half-plane distance (inside < 0).
    d2 = np.full(xz.shape[:-1], -np.inf)
    n = len(outline)
    area = 0.0
    for i in range(n):
        a, b = outline[i], outline[(i + 1) % n]
        area += a[0] * b[1] - b[0] * a[1]
    sign = 1.0 if area > 0 else -1.0
    for i in range(n):
        a, b = outline[i], outline[(i + 1) % n]
        e = b - a
        normal = sign * np.array([e[1], -e[0]]) / np.linalg.norm(e)
        d2 = np.maximum(d2, _dot(xz - a, normal))
    # Thickness: ~2.4 cm in the middle of the palm, thinner towards the knuckles and the edges.
    centre_y = 0.0015
    half = 0.0105 - 0.025 * np.clip(0.035 - p[..., 0], 0.0, 0.05) - 0.04 * np.clip(np.abs(p[..., 2]) - 0.02, 0.0, 0.03)
    dy = np.abs(p[..., 1] - centre_y) - half
    rounding = 0.006
    w0 = d2 + rounding
    w1 = dy + rounding
    outside = np.sqrt(np.maximum(w0, 0.0) ** 2 + np.maximum(w1, 0.0) ** 2)
    return np.minimum(np.maximum(w0, w1), 0.0) + outside - rounding


def _hypothenar(p: np.ndarray) -> np.ndarray:
    """The pad along the palm's little-finger edge."""
    return _tapered_capsule(p, np.array([0.082, -0.004, -0.024]), np.array([0.035, -0.005, -0.031]), 0.0105, 0.009,
                            0.85)


def palm_distance(p: np.ndarray) -> np.ndarray:
    """Distance to the palm's own primitives (slab and hypothenar pad), in the wrist's frame.

    Why: what a closing finger meets; the pose prior (`models.pose_prior`) stops a finger there.
    """
    return np.minimum(_palm(p), _hypothenar(p))


def phalanx_capsule(finger: str, k: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Phalanx k (0 first) of `finger` in the rest hand: its tapered capsule's two ends and radii (metres)."""
    pts, radii = FINGER_POINTS[finger], FINGER_RADII[finger]
    bone = pts[k + 1] - pts[k]
    # The last phalanx stops short of the tip point by a third of the tip radius (its rounded cap).
    end = pts[k + 1] - bone * (0.0 if k < 2 else 0.35 * radii[3] / np.linalg.norm(bone))
    return pts[k], end, radii[k] * 0.97, radii[k + 1] * 0.97


def _part_distances(points: list[np.ndarray]) -> list[np.ndarray]:
    """Distances to the implicit hand's primitives, primitive i evaluated at points[PRIMITIVE_PART[i]].

    Order: palm slab, forearm stub, thenar pad, hypothenar pad, then per finger (FINGERS order) phalanx 0,
    phalanx 1, knuckle 1, phalanx 2, knuckle 2.
    """
    p = points
    out = [_palm(p[0]),
           _tapered_capsule(p[0], WRIST + [0.014, 0.0, 0.0], WRIST - [0.010, 0.0, 0.0], 0.026, 0.027, 0.62)]
    thumb = FINGER_POINTS["thumb"]
    out.append(_tapered_capsule(p[1], WRIST + [-0.006, -0.007, 0.014], thumb[1] + [0.004, 0.002, -0.008],
                                0.0135, 0.0105, 0.85))
    out.append(_hypothenar(p[0]))
    for fi, finger in enumerate(FINGERS):
        pts, radii = FINGER_POINTS[finger], FINGER_RADII[finger]
        for k in range(3):
            q = p[2 + 3 * fi + k]
            out.append(_tapered_capsule(q, *phalanx_capsule(finger, k), FLATTEN))
            if k > 0:
                # The knuckle joints bulge a little beyond the shafts.
                bone, before = pts[k + 1] - pts[k], pts[k] - pts[k - 1]
                out.append(_tapered_capsule(q, pts[k] - 0.002 * before / np.linalg.norm(before),
                                            pts[k] + 0.002 * bone / np.linalg.norm(bone), radii[k] * 1.03,
                                            radii[k] * 1.03, FLATTEN))
    return out


# Parts of the implicit hand, each carried rigidly by one bone when the hand is posed: 0 the palm (slab, forearm
# stub, hypothenar pad; the wrist), 1 the thenar pad (half of the thumb's first joint), 2 + 3 * finger + k phalanx k
# of that finger with the knuckle bulge at its base (its own bone).
NUM_PARTS = 17
PART_BONES = np.array([0, 13] + [j for f in FINGERS for j in FINGER_JOINTS[f]])


def combine_primitives(dist: list[np.ndarray]) -> np.ndarray:
    """The smooth union of the primitives (in `_part_distances` order) that makes the hand."""
    palm, stub, thenar, hypothenar = dist[:4]
    d = _smin(palm, stub, 0.01)
    d = _smin(d, thenar, 0.008)
    d = _smin(d, hypothenar, 0.008)
    i = 4
    for finger in FINGERS:
        finger_d = np.full(palm.shape, np.inf)
        for k in range(3):
            finger_d = np.minimum(finger_d, dist[i])
            i += 1
            if k > 0:
                finger_d = _smin(finger_d, dist[i], 0.002)
                i += 1
        d = _smin(d, finger_d, 0.0045 if finger != "thumb" else 0.007)
    return d


# Which part each primitive belongs to.
PRIMITIVE_PART = np.array([0, 0, 1, 0] + [2 + 3 * fi + k for fi in range(5) for k in (0, 1, 1, 2, 2)])


def hand_sdf(p: np.ndarray) -> np.ndarray:
    """Signed distance (approximately, metres; negative inside) of the rest-pose right hand at points p (..., 3)."""
    return combine_primitives(_part_distances([p] * NUM_PARTS))


def part_transforms(rots: np.ndarray, trans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per part the rigid transform (R (17, 3, 3), t (17, 3): rest x -> R x + t) from the 16 bones' skinning
    transforms of one pose; the thenar pad (soft tissue between the palm and the thumb's metacarpal) turns by half
    its thumb joint's rotation about that joint."""
    from scipy.spatial.transform import Rotation

    r, t = rots[PART_BONES].copy(), trans[PART_BONES].copy()
    cmc = FINGER_POINTS["thumb"][0]
    root_r = rots[0]
    rel = root_r.T @ rots[13]  # the thumb joint's own rotation
    half = Rotation.from_rotvec(0.5 * Rotation.from_matrix(rel).as_rotvec()).as_matrix()
    r[1] = root_r @ half
    centre = rots[13] @ cmc + trans[13]  # where the joint is now
    t[1] = centre - r[1] @ cmc
    return r, t


def posed_part_distances(points: np.ndarray, rots: np.ndarray, trans: np.ndarray) -> list[np.ndarray]:
    """The primitives' distances at world `points` (M, 3) with every part carried by its transform (R, t)."""
    local = [(points - trans[k]) @ rots[k] for k in range(NUM_PARTS)]  # R^T (x - t), row-vector form
    return _part_distances(local)


def _edges_along(field: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The field at both ends of every grid edge along `axis`, and where the surface (field = 0) crosses it."""
    lo = [slice(None)] * 3
    hi = [slice(None)] * 3
    lo[axis] = slice(0, -1)
    hi[axis] = slice(1, None)
    f0, f1 = field[tuple(lo)], field[tuple(hi)]
    return f0, f1, (f0 < 0) != (f1 < 0)


def surface_nets(field: np.ndarray, origin: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Closed mesh of the zero level set of `field` (grid (nx, ny, nz), negative inside, positive on the border).

    One vertex per cell with a sign change, at the mean of its edge crossings; one quad (two triangles) per
    sign-changing grid edge, joining the four cells around it, wound so that normals point outwards.
    """
    inside = field < 0
    if inside[0].any() or inside[-1].any() or inside[:, 0].any() or inside[:, -1].any() or inside[:, :, 0].any() \
            or inside[:, :, -1].any():
        raise ValueError("surface_nets: the shape touches the grid border; enlarge the grid")
    cells = np.array(field.shape) - 1
    acc = np.zeros((*cells, 3))
    cnt = np.zeros(tuple(cells))
    offsets = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
    for axis in range(3):
        f0, f1, crossing = _edges_along(field, axis)
        t = np.where(crossing, f0 / np.where(crossing, f0 - f1, 1.0), 0.0)
        idx = np.indices(f0.shape).astype(np.float64)
        pos = np.moveaxis(idx, 0, -1)
        pos[..., axis] += t
        pos *= crossing[..., None]
        others = [a for a in range(3) if a != axis]
        # Each edge touches four cells: shift it into each of them.
        for o1, o2 in offsets:
            sl = [slice(None)] * 3
            dst = [slice(None)] * 3
            for a, o in zip(others, (o1, o2)):
                n_edge = f0.shape[a]
                # edge index e along axis a belongs to cell e - o (cells 0..n_edge-2)
                sl[a] = slice(o, n_edge - 1 + o)
                dst[a] = slice(0, n_edge - 1)
            sl[axis] = slice(None)
            dst[axis] = slice(None)
            acc[tuple(dst)] += pos[tuple(sl)]
            cnt[tuple(dst)] += crossing[tuple(sl)]
    active = cnt > 0
    vid = -np.ones(tuple(cells), dtype=np.int64)
    vid[active] = np.arange(int(active.sum()))
    verts = acc[active] / cnt[active][:, None]
    verts = origin + verts * step

    faces = []
    for axis in range(3):
        others = [a for a in range(3) if a != axis]
        _, _, crossing = _edges_along(field, axis)
        # Only interior edges (all four neighbouring cells exist); the border is outside anyway.
        e = np.argwhere(crossing)
        keep = np.all([(e[:, a] >= 1) & (e[:, a] <= field.shape[a] - 2) for a in others], axis=0)
        e = e[keep]
        # The four cells around each edge, in order around it: offsets (-1, -1), (0, -1), (0, 0), (-1, 0).
        corners = []
        for d1, d2 in ((1, 1), (0, 1), (0, 0), (1, 0)):
            c = e.copy()
            c[:, others[0]] -= d1
            c[:, others[1]] -= d2
            corners.append(vid[c[:, 0], c[:, 1], c[:, 2]])
        q = np.stack(corners, axis=1)
        starts_inside = f0[e[:, 0], e[:, 1], e[:, 2]] < 0
        # (a1, a2, axis) is a right-handed cyclic order when axis == 1 is handled by the permutation sign.
        flip = starts_inside if axis != 1 else ~starts_inside
        q[flip] = q[flip][:, ::-1]
        faces.append(np.concatenate([q[:, [0, 1, 2]], q[:, [0, 2, 3]]]))
    return verts, np.concatenate(faces).astype(np.int64)


def relax_on_surface(verts: np.ndarray, faces: np.ndarray, iterations: int = 10, rate: float = 0.3) -> np.ndarray:
    """Even out a decimated mesh's vertex spacing while keeping it on the implicit hand surface.

    Quadric decimation leaves long triangles on flat areas such as the back of the fingers, which then bend badly;
    moving each vertex towards the mean of its neighbours within the tangent plane, then back onto the zero level
    set of `hand_sdf` (Newton steps along the gradient), spreads vertices evenly without changing the shape.
    """
    from scipy.sparse import coo_matrix

    n = len(verts)
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    adjacency = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()
    adjacency = ((adjacency + adjacency.T) > 0).astype(np.float64)
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    v = verts.copy()
    h = 1e-4
    for _ in range(iterations):
        face_n = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
        normals = np.zeros_like(v)
        for k in range(3):
            np.add.at(normals, faces[:, k], face_n)
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        move = (adjacency @ v) / degree[:, None] - v
        move -= (move * normals).sum(axis=1, keepdims=True) * normals
        v = v + rate * move
        for _ in range(2):
            d = hand_sdf(v)
            grad = np.stack([(hand_sdf(v + h * np.eye(3)[i]) - d) / h for i in range(3)], axis=1)
            v = v - d[:, None] * grad / np.maximum((grad * grad).sum(axis=1, keepdims=True), 1e-12)
    return v
