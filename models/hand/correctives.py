"""Pose correctives (`posedirs`) fitted over whole-hand poses to the implicit hand posed bone by bone.

Why: correctives fitted one joint at a time know nothing of a fist, where every joint bends at once and fingers
press on the palm and on each other; linear blend skinning then crumples knuckles and sinks fingertips into the
palm. Here each sample pose (real poses from depth datasets through IK, the prior's closed hands, single fingers
bent) gets a target surface: the same implicit hand the rest mesh comes from, each part carried by its bone
(`models.hand.surface.posed_part_distances`), with parts that are apart at rest kept apart (a finger yields to the palm,
two fingers meet halfway). The skinned mesh is projected onto it and its vertices spread over it the way they are
at rest; `posedirs` is then the ridge least-squares fit of the rest-space offsets to MANO's pose feature over all
targets, each vertex using only the joints of the fingers around it. Since 1.2 a few rounds then check the fitted
mesh itself in every sample pose (parts sunk into each other, as `models.hand.quality` measures it; edges stretched
too far; since 1.4 triangles turned over, and webs folded under a finger), move those targets and fit again.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.hand.contact import ContactFinder, finger_shares, mesh_edges, vertex_normals
from models.hand.model import chain_transforms, rodrigues
from models.hand.poses import finger_flexion_pose
from models.hand.quality import closed_hand_poses, face_normals, flipped, triangle_bones
from models.hand.skeleton import FINGER_JOINTS, FINGERS, PARENTS
from models.hand.surface import NUM_PARTS, PRIMITIVE_PART, combine_primitives, part_transforms, posed_part_distances

FIT_POSES_FILE = Path(__file__).with_name("fit_poses.npz")


@dataclass(frozen=True)
class CorrectiveOptions:
    """Sample poses and target construction; the defaults produce the shipped file."""

    real_poses: int = 160  # from `fit_poses.npz` (NYU and ICVL labels through IK)
    closed_poses: int = 60  # the prior's closed hands (fist, pinch and grasps)
    bends: tuple[float, ...] = (30.0, 60.0, 90.0, 110.0)  # single fingers, all three joints bent (degrees)
    near: float = 0.010  # metres: parts of its own finger and the palm closer than this join a vertex smoothly
    near_other: float = 0.0005  # metres: the same for other fingers' parts (only where webbed)
    iterations: int = 8  # projection + spreading rounds per target
    newton_steps: int = 2  # projection steps per round
    ridge: float = 0.1  # pull (per sample) towards the single-joint correctives: keeps extreme poses sane
    # Since 1.2, rounds of correcting the fitted mesh itself and refitting: sunk-in vertices pushed out of the other
    # part and over-stretched edges shortened (see `push_apart`, `shorten_edges`), then edges alone.
    contact_rounds: int = 2
    contact_margin: float = 0.0005  # metres beyond the other part's surface a sunk-in vertex is pushed to
    contact_seam: float = 0.015  # metres along the rest surface: no push this close to the part it sank into
    stretch_limit: float = 1.5  # posed / rest edge length beyond which an edge is shortened in the contact rounds
    stretch_rounds: int = 4  # then rounds that only shorten edges, beyond `late_stretch_limit` (a lighter pull, as
    late_stretch_limit: float = 1.6  # 1.5 in every round pressed fingers into each other a little more)
    clear_share: float = 0.6  # a vertex is moved only if one part (the palm, or a finger) carries this much of it


def fit_pose_set(options: CorrectiveOptions = CorrectiveOptions(), seed: int = 0) -> np.ndarray:
    """(N, 45) the poses the correctives are fitted on."""
    with np.load(FIT_POSES_FILE) as z:
        real = z["fit"].astype(np.float64)[:options.real_poses]
    bends = [finger_flexion_pose(f, deg) for f in FINGERS for deg in options.bends
             if f != "thumb" or deg <= 60.0]
    # The closed hands 1.3 was fitted on, drawn before the prior's contact stops: refitted on those with the palm stop,
    # or with the thumb's too, the file measures no better (weights/HAND_MODEL.md, "A fist stops at the palm", "The
    # thumb stops too"), so it stays.
    closed = closed_hand_poses(options.closed_poses, seed, keep_tips_out=False)
    return np.concatenate([real, closed, np.stack(bends)])


def _neighbour_mean_matrix(faces: np.ndarray, n: int):
    from scipy.sparse import coo_matrix, diags

    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    adj = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
    adj = ((adj + adj.T) > 0).astype(np.float64)
    return diags(1.0 / np.asarray(adj.sum(axis=1)).ravel()) @ adj


class TargetBuilder:
    """Target surfaces for one rest mesh: which parts each vertex joins smoothly, and the posing."""

    def __init__(self, verts: np.ndarray, faces: np.ndarray, weights: np.ndarray, regressor: np.ndarray,
                 posedirs: np.ndarray, options: CorrectiveOptions) -> None:
        self.verts, self.faces, self.weights, self.posedirs = verts, faces, weights, posedirs
        self.options = options
        self.joints = regressor @ verts
        ident = np.tile(np.eye(3), (NUM_PARTS, 1, 1))
        dist = posed_part_distances(verts, ident, np.zeros((NUM_PARTS, 3)))
        part_d = np.full((len(verts), NUM_PARTS), np.inf)
        for i, d in enumerate(dist):
            part_d[:, PRIMITIVE_PART[i]] = np.minimum(part_d[:, PRIMITIVE_PART[i]], d)
        # Another finger joins a vertex smoothly only where the two are webbed together at rest (nearly touching);
        # elsewhere fingers side by side meet, they do not fuse.
        own = np.argmin(part_d, axis=1)
        finger_of_part = np.array([-1, -1] + [fi for fi in range(5) for _ in range(3)])
        same = (finger_of_part[None, :] == finger_of_part[own][:, None]) | (np.arange(NUM_PARTS) < 2)[None, :]
        self.near = part_d < np.where(same, options.near, options.near_other)
        self.near[np.arange(len(verts)), own] = True
        # Palm vertices (nearest part the palm or thenar) are not pushed by fingers: fingers yield to the palm.
        self.is_palm = np.argmin(part_d, axis=1) < 2
        self.mean = _neighbour_mean_matrix(faces, len(verts))
        self.rest_lap = self.mean @ verts - verts
        self.edges, _ = mesh_edges(faces)
        # Vertices clearly in one part (not shared by a web or a knuckle seam): the fitted mesh's corrections move
        # only these.
        share = finger_shares(weights)
        self.clear = np.maximum(share.max(axis=1), 1.0 - share.sum(axis=1)) >= options.clear_share
        # For the contact rounds' turned-over triangles: each one's bone and rest normal (a flip as
        # `models.hand.quality` counts it).
        self.face_bones = triangle_bones(weights, faces)
        self.rest_normals = face_normals(verts, faces)
        self.edge_rest = np.linalg.norm(verts[self.edges[:, 1]] - verts[self.edges[:, 0]], axis=1)

    def _field(self, x: np.ndarray, rots: np.ndarray, trans: np.ndarray) -> np.ndarray:
        """Each vertex's own target surface: the smooth union A of the parts it joins at rest, clipped by the
        others. A finger yields entirely to the palm (max(A, -B_palm)) and meets another finger halfway
        (max(A, (A - B_finger) / 2), whose zero set stops at the surface between the two); the palm keeps A."""
        near = self.near
        dist = posed_part_distances(x, rots, trans)
        far_value = 1.0  # what a primitive beyond reach contributes (see `surface._tapered_capsule`)
        d = combine_primitives([np.where(near[:, PRIMITIVE_PART[i]], di, far_value) for i, di in enumerate(dist)])
        b_palm = np.full(len(x), far_value)
        b_finger = np.full(len(x), far_value)
        for i, di in enumerate(dist):
            part = PRIMITIVE_PART[i]
            other = np.where(near[:, part], far_value, di)
            if part < 2:
                b_palm = np.minimum(b_palm, other)
            else:
                b_finger = np.minimum(b_finger, other)
        clipped = np.maximum(np.maximum(d, 0.5 * (d - b_finger)), -b_palm)
        return np.where(self.is_palm, d, clipped)

    def _project(self, x: np.ndarray, rots: np.ndarray, trans: np.ndarray, steps: int = 2) -> np.ndarray:
        h = 1e-4
        for _ in range(steps):
            d = self._field(x, rots, trans)
            grad = np.stack([(self._field(x + h * np.eye(3)[i], rots, trans) - d) / h for i in range(3)], axis=1)
            x = x - d[:, None] * grad / np.maximum((grad * grad).sum(axis=1, keepdims=True), 1e-12)
        return x

    def skinning(self, pose: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Bone rotations (16, 3, 3), translations (16, 3) and per vertex the blended matrix and translation."""
        rots = rodrigues(np.concatenate([np.zeros(3), pose]).reshape(1, 16, 3))
        world_r, _, skin_t = chain_transforms(PARENTS, rots, self.joints[None])
        m = np.einsum("vb,bij->vij", self.weights, world_r[0])
        t = self.weights @ skin_t[0]
        return world_r[0], skin_t[0], m, t

    def target(self, pose: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(V, 3) target positions for one pose, and the vertices' blended skinning matrices and translations."""
        world_r, skin_t, m, t = self.skinning(pose)
        feature = (rodrigues(pose.reshape(15, 3)) - np.eye(3)).reshape(-1)
        start = self.verts + self.posedirs @ feature
        x = np.einsum("vij,vj->vi", m, start) + t
        rots, trans = part_transforms(world_r, skin_t)
        lap = np.einsum("vij,vj->vi", m, self.rest_lap)
        for _ in range(self.options.iterations):
            x = self._project(x, rots, trans, steps=self.options.newton_steps)
            # Spread the vertices over the surface as they are at rest: match each one's (skinned) offset from
            # the mean of its neighbours, moving only within the tangent plane.
            move = (self.mean @ x - x) - lap
            n = vertex_normals(x, self.faces)
            move -= (move * n).sum(axis=1, keepdims=True) * n
            x = x + 0.5 * move
        return self._project(x, rots, trans, steps=3), m, t


def sample_offsets(builder: TargetBuilder, poses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pose the rest-space offsets (N, V, 3) that make skinning hit the targets, and MANO's pose feature (N, 135)
    (the (R - I) entries of the 15 finger joints)."""
    offsets = np.empty((len(poses), len(builder.verts), 3))
    features = np.empty((len(poses), 135))
    for i, pose in enumerate(poses):
        x, m, t = builder.target(pose)
        offsets[i] = np.linalg.solve(m, (x - t)[..., None])[..., 0] - builder.verts
        features[i] = (rodrigues(pose.reshape(15, 3)) - np.eye(3)).reshape(-1)
    return offsets, features


def solve_correctives(offsets: np.ndarray, features: np.ndarray, uses: np.ndarray, initial: np.ndarray,
                      tip_ids: np.ndarray, ridge: float) -> np.ndarray:
    """Ridge least squares of offsets on features, per vertex over the joints of the fingers `uses` (V, 5) marks,
    pulled towards `initial` by `ridge` (per sample); the fingertip vertices and vertices without fingers keep
    `initial`."""
    out = initial.copy()
    groups: dict[tuple[bool, ...], list[int]] = {}
    tips = {int(t) for t in tip_ids}
    for v in range(len(uses)):
        if v not in tips and uses[v].any():
            groups.setdefault(tuple(bool(u) for u in uses[v]), []).append(v)
    for key, members in sorted(groups.items()):
        cols = np.concatenate([np.arange(9 * (j - 1), 9 * j) for fi, f in enumerate(FINGERS) if key[fi]
                               for j in FINGER_JOINTS[f]])
        a = features[:, cols]
        prior = initial[members][:, :, cols].reshape(-1, len(cols)).T  # (C, M*3)
        b = offsets[:, members].reshape(len(features), -1)
        lam = ridge * len(features)
        # min |a P - b|² + lam |P - prior|²
        sol = np.linalg.solve(a.T @ a + lam * np.eye(len(cols)), a.T @ b + lam * prior)
        full = np.zeros((len(members) * 3, 135))
        full[:, cols] = sol.T
        out[members] = full.reshape(len(members), 3, 135)
    return out


def fingers_used(builder: TargetBuilder) -> np.ndarray:
    """(V, 5) which fingers' joints drive each vertex's correctives: those it is skinned to or whose phalanges it
    joins at rest (the palm and the thenar pad count for none, so the forearm side of the wrist never follows a
    finger)."""
    finger_of_part = np.array([-1, -1] + [fi for fi in range(5) for _ in range(3)])
    uses = np.zeros((len(builder.verts), 5), dtype=bool)
    for fi, f in enumerate(FINGERS):
        uses[:, fi] = builder.weights[:, list(FINGER_JOINTS[f])].sum(axis=1) > 0
        uses[:, fi] |= builder.near[:, finger_of_part == fi].any(axis=1)
    return uses


def fit_correctives(verts: np.ndarray, faces: np.ndarray, weights: np.ndarray, regressor: np.ndarray,
                    initial: np.ndarray, tip_ids: np.ndarray, poses: np.ndarray,
                    options: CorrectiveOptions = CorrectiveOptions()) -> np.ndarray:
    """`posedirs` (V, 3, 135) fitted to the targets of `poses`, starting from (and regularised towards) `initial`.

    The fingertip vertices keep `initial`: they are keypoints, and networks trained on this model expect them where
    they were.
    """
    builder = TargetBuilder(verts, faces, weights, regressor, initial, options)
    offsets, features = sample_offsets(builder, poses)
    uses = fingers_used(builder)
    posedirs = solve_correctives(offsets, features, uses, initial, tip_ids, options.ridge)
    finder = ContactFinder(verts, faces, weights)
    for r in range(options.contact_rounds + options.stretch_rounds):
        contact = r < options.contact_rounds
        for i, pose in enumerate(poses):
            if contact:
                uses |= push_apart(builder, finder, posedirs, pose, offsets[i], tip_ids, options)
                unfold(builder, posedirs, pose, offsets[i], tip_ids)
            shorten_edges(builder, posedirs, pose, offsets[i], tip_ids,
                          options.stretch_limit if contact else options.late_stretch_limit)
        posedirs = solve_correctives(offsets, features, uses, initial, tip_ids, options.ridge)
    return posedirs


def _fitted(builder: TargetBuilder, posedirs: np.ndarray, pose: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bones' rotations (16, 3, 3) and the vertices' blended skinning matrices (V, 3, 3) for one pose, and the
    mesh that `posedirs` makes there (V, 3)."""
    world_r, _, m, t = builder.skinning(pose)
    feature = (rodrigues(pose.reshape(15, 3)) - np.eye(3)).reshape(-1)
    return world_r, m, np.einsum("vij,vj->vi", m, builder.verts + posedirs @ feature) + t


def push_apart(builder: TargetBuilder, finder: ContactFinder, posedirs: np.ndarray, pose: np.ndarray,
               offsets: np.ndarray, tip_ids: np.ndarray, options: CorrectiveOptions) -> np.ndarray:
    """Move one pose's targets (`offsets` (V, 3), in place) so the vertices the fitted mesh sinks into another part
    come out `contact_margin` beyond its surface, the move fading over two rings of neighbours. A fingertip vertex
    is a keypoint and cannot move, so the triangle it sank through moves instead (a dent). Not pushed: vertices
    within `contact_seam` of the part they sank into (where the two join, the nearest triangle of that part is no
    sign of which way is out), and vertices shared between parts (web, knuckle seams), for the same reason; a
    shared vertex that sank in goes instead where its ring of neighbours carries it (`ring_carried`). Returns
    (V, 5) the fingers whose joints the moved palm vertices must now follow.

    Why: the implicit targets keep parts apart only approximately, and the linear fit blurs them; this measures
    contact the way the quality check does (`models.hand.contact`), on the fitted mesh itself.
    """
    _, m, posed = _fitted(builder, posedirs, pose)
    found = finder.find(posed)
    ok = builder.clear[found.vertex] & (finder.geodesic[found.vertex, found.other] >= options.contact_seam)
    vertex, own, other, point, face, depth = (x[ok] for x in (found.vertex, found.own, found.other, found.point,
                                                              found.face, found.depth))
    push = (point - posed[vertex]) * (1.0 + options.contact_margin / np.maximum(depth, 1e-9))[:, None]
    tip = np.isin(vertex, tip_ids)
    move = np.zeros_like(posed)
    move[vertex[~tip]] = push[~tip]
    uses = np.zeros((len(posed), 5), dtype=bool)
    into_finger = ~tip & (other >= 1)
    uses[vertex[into_finger], other[into_finger] - 1] = True  # parts 1..5 are the fingers
    dent = np.zeros_like(posed)
    count = np.zeros(len(posed))
    for k in np.flatnonzero(tip):
        corners = builder.faces[face[k]]
        dent[corners] -= push[k]
        count[corners] += 1
        uses[corners, own[k] - 1] = True
    move[count > 0] = dent[count > 0] / count[count > 0, None]
    # Only the palm starts following a finger it is dented by: a finger following another finger's joints would
    # move whenever that finger bends alone, touching or not.
    uses[finder.parts != 0] = False
    moved = np.abs(move).sum(axis=1) > 0
    for _ in range(2):
        move = np.where(moved[:, None], move, 0.8 * (builder.mean @ move))
    move[tip_ids] = 0.0  # (their correctives are not fitted anyway)
    move += _to_rings(builder, posed, np.setdiff1d(found.vertex[~builder.clear[found.vertex]], tip_ids))
    offsets += np.linalg.solve(m, move[..., None])[..., 0]
    return uses


def unfold(builder: TargetBuilder, posedirs: np.ndarray, pose: np.ndarray, offsets: np.ndarray,
           tip_ids: np.ndarray) -> None:
    """Move one pose's targets (`offsets` (V, 3), in place) so the corners of the triangles the fitted mesh turns
    over (flipped, as `models.hand.quality` counts it) go where their rings of neighbours carry them; a fingertip, a
    keypoint, stays.

    Why: a flip is a fold the fit makes where several joints' blends meet (the thumb's base; the middle and ring
    fingers' first phalanges, at the MCPs), where the linear fit cannot follow its targets. Pulling the corners
    towards their bone's rigid motion made everything else worse (weights/HAND_MODEL.md); their rings bend with the
    hand and say how the surface lies there.
    """
    world_r, m, posed = _fitted(builder, posedirs, pose)
    turned = flipped(posed, builder.faces, builder.rest_normals, world_r[builder.face_bones])
    corners = np.setdiff1d(builder.faces[turned], tip_ids)
    offsets += np.linalg.solve(m, _to_rings(builder, posed, corners)[..., None])[..., 0]


def _to_rings(builder: TargetBuilder, posed: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """(V, 3) the moves that take `vertices` of a posed mesh where their rings carry them (others: zero)."""
    move = np.zeros_like(posed)
    for v in vertices:
        ring = builder.mean[v].indices  # its neighbours: the row of the neighbour-mean matrix
        move[v] = ring_carried(builder.verts[v], builder.verts[ring], posed[ring]) - posed[v]
    return move


def ring_carried(rest: np.ndarray, rest_ring: np.ndarray, posed_ring: np.ndarray) -> np.ndarray:
    """Where a vertex (3,) goes if it keeps its rest offset from its ring of neighbours (K, 3), turned as the ring
    turned (the rotation that best maps the rest ring onto the posed one).

    Why: where the fit folds the mesh, the ring around the fold still bends with the hand. A web vertex between two
    fingers is skinned to both and the palm, so it lags when one finger presses towards the other, and that finger's
    side folds over it (the index–middle web, weights/HAND_MODEL.md); kept where its ring carries it, it stays in
    the crease instead of under it. The same holds for a turned-over triangle's corners (`unfold`).
    """
    a = rest_ring - rest_ring.mean(axis=0)
    b = posed_ring - posed_ring.mean(axis=0)
    u, _, vt = np.linalg.svd(a.T @ b)
    flip = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    return posed_ring.mean(axis=0) + (u @ flip @ vt).T @ (rest - rest_ring.mean(axis=0))


def shorten_edges(builder: TargetBuilder, posedirs: np.ndarray, pose: np.ndarray, offsets: np.ndarray,
                  tip_ids: np.ndarray, limit: float) -> None:
    """Move one pose's targets (`offsets` (V, 3), in place) so the edges the fitted mesh stretches beyond `limit`
    times their rest length come back to it: both ends move halfway (a fingertip, a keypoint, stays; vertices
    shared between parts stay too, as moving them folds the web).

    Why: the targets stretch the knuckles' backs and the webs too (too few vertices there to slide), and the fit
    blurs them further; this bounds what the fit itself does.
    """
    _, m, posed = _fitted(builder, posedirs, pose)
    e = builder.edges
    vec = posed[e[:, 1]] - posed[e[:, 0]]
    length = np.linalg.norm(vec, axis=1)
    over = length > limit * builder.edge_rest
    e, vec = e[over], vec[over]
    excess = (1.0 - limit * builder.edge_rest[over] / length[over])[:, None] * vec  # from end 0 towards end 1
    fixed = np.isin(e, tip_ids)
    share0 = np.where(fixed[:, 0], 0.0, np.where(fixed[:, 1], 1.0, 0.5))[:, None]
    move = np.zeros_like(posed)
    count = np.zeros(len(posed))
    np.add.at(move, e[:, 0], share0 * excess)
    np.add.at(move, e[:, 1], -(1.0 - share0) * excess)
    np.add.at(count, e.ravel(), 1.0)
    move /= np.maximum(count, 1.0)[:, None]
    move[~builder.clear] = 0.0
    offsets += np.linalg.solve(m, move[..., None])[..., 0]


def make_fit_poses(banks: list[Path], out: Path = FIT_POSES_FILE, seed: int = 0, keep: int = 320) -> Path:
    """Write `fit_poses.npz` from real pose banks (`handstream pose-bank`): `fit`, `keep` of the banks' even
    entries (interleaved across banks, shuffled), and `render`: 12 of their odd (held-out) entries from open to
    closed, for the docs' before/after renders and the quality test."""
    from models.synth.pose_bank import load_pose_bank

    rng = np.random.default_rng(seed)
    fit, held, held_error = [], [], []
    for path in banks:
        bank = load_pose_bank(path)
        fit.append(bank.theta[0::2][rng.permutation(len(bank.theta[0::2]))])
        held.append(bank.theta[1::2])
        held_error.append(bank.fit_error_mm[1::2])
    width = max(len(f) for f in fit)
    order = [f[i] for i in range(width) for f in fit if i < len(f)]  # interleaved: any prefix mixes the banks
    held_all, error = np.concatenate(held), np.concatenate(held_error)
    # Well-fitted poses (IK residual below the median), from open to closed: 12 evenly spaced in total flexion.
    good = np.flatnonzero(error <= np.median(error))
    closure = np.linalg.norm(held_all[good].reshape(-1, 15, 3), axis=2).sum(axis=1)
    ranked = good[np.argsort(closure)]
    chosen = ranked[np.linspace(0, len(ranked) - 1, 12).round().astype(int)]
    np.savez_compressed(out, fit=np.stack(order)[:keep].astype(np.float32), render=held_all[chosen].astype(np.float32))
    return out
