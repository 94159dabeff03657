"""How well a hand model's mesh holds up in real poses: flipped triangles, stretched edges, joints that keep their
thickness when a finger bends, and fingers that do not sink into each other or the palm.

Why these four: they are what a crumpled fist looks like in numbers (issue 26). A triangle is *flipped* when its
normal turns by more than 90° against the same triangle's rest normal carried rigidly by its bone; an edge is
*stretched* beyond a factor of its rest length; *thickness* is measured through each finger joint along the bend's
bisector with all three joints of that finger bent together, as a fraction of the straight finger's; *penetration*
is how deep a vertex of one part (a finger, or the palm) lies inside a neighbouring part's surface (neighbouring
fingers, each finger and the palm), seams where the parts are joined at rest excluded.

    python -m models.hand.quality [--model FILE] [--bank runs/banks/nyu.npz ...]
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from models.hand.contact import ContactFinder, mesh_edges
from models.hand.model import HandModel, load_hand_model
from models.hand.poses import finger_flexion_pose, named_pose
from models.hand.skeleton import FINGER_JOINTS, FINGERS, joint_axes


@dataclass(frozen=True)
class QualityTargets:
    """The targets of issue 26."""

    flip_degrees: float = 90.0  # a triangle turned further than this against its rigidly posed rest normal is flipped
    max_stretch: float = 2.0  # posed edge length / rest edge length
    min_thickness: float = 0.8  # thickness through a bent joint / the straight finger's
    max_penetration: float = 0.002  # metres
    seam: float = 0.006  # metres along the rest surface: closer than this to another part is where they join
    long_finger_bend: float = 90.0  # degrees at MCP and PIP (the DIP 2/3 of it) for the thickness check
    thumb_bend: float = 50.0


@dataclass
class QualityReport:
    """Worst cases over a set of poses (β = 0)."""

    poses: int
    flipped_triangles: int  # summed over all poses
    poses_with_flips: int
    max_stretch: float
    min_thickness: float  # worst joint
    thickness: dict[str, list[float]] = field(default_factory=dict)  # per finger, its three joints
    max_penetration_fingers: float = 0.0  # metres, between neighbouring fingers
    max_penetration_palm: float = 0.0  # metres, between a finger and the palm
    p95_penetration: float = 0.0  # metres, 95th percentile over poses of each pose's deepest point
    share_meeting: dict[str, float] = field(default_factory=dict)  # fraction of poses meeting each per-pose target

    def meets(self, targets: QualityTargets = QualityTargets()) -> bool:
        return (self.flipped_triangles == 0 and self.max_stretch <= targets.max_stretch
                and self.min_thickness >= targets.min_thickness
                and max(self.max_penetration_fingers, self.max_penetration_palm) <= targets.max_penetration)

    def summary(self) -> str:
        return (f"{self.poses} poses: flipped triangles {self.flipped_triangles} (in {self.poses_with_flips} poses), "
                f"max stretch {self.max_stretch:.2f}, min joint thickness {self.min_thickness:.2f}, "
                f"penetration finger-finger {self.max_penetration_fingers * 1e3:.1f} mm, "
                f"finger-palm {self.max_penetration_palm * 1e3:.1f} mm (p95 {self.p95_penetration * 1e3:.1f} mm); "
                "poses meeting: " + ", ".join(f"{k} {v:.0%}" for k, v in self.share_meeting.items()))


def triangle_bones(weights: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(F,) the bone that carries most of each triangle's skinning weight (its rigid motion)."""
    return np.argmax(weights[faces].sum(axis=1), axis=1)


def face_normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(..., F, 3) unit normals of the triangles of one or more meshes (..., V, 3)."""
    n = np.cross(verts[..., faces[:, 1], :] - verts[..., faces[:, 0], :],
                 verts[..., faces[:, 2], :] - verts[..., faces[:, 0], :])
    return n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-18)


def flipped(verts: np.ndarray, faces: np.ndarray, rest_normals: np.ndarray, face_rots: np.ndarray,
            flip_degrees: float = QualityTargets.flip_degrees) -> np.ndarray:
    """(..., F) which triangles of posed meshes (..., V, 3) have turned further than `flip_degrees` against their
    rest normals (F, 3) carried by their bones' rotations (..., F, 3, 3)."""
    carried = np.einsum("...fij,fj->...fi", face_rots, rest_normals)
    cos = np.einsum("...fi,...fi->...f", face_normals(verts, faces), carried)
    return cos < np.cos(np.deg2rad(flip_degrees))


def flips_and_stretch(model: HandModel, poses: np.ndarray, targets: QualityTargets = QualityTargets()
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Per pose the number of flipped triangles (N,) and the largest edge stretch (N,)."""
    faces = model.faces
    verts = model.forward(poses).vertices
    rots, _ = model.bone_transforms(poses)
    bones = triangle_bones(model.weights, faces)
    flips = flipped(verts, faces, face_normals(model.v_template, faces), rots[:, bones], targets.flip_degrees)
    e, _ = mesh_edges(faces)
    rest_len = np.linalg.norm(model.v_template[e[:, 0]] - model.v_template[e[:, 1]], axis=1)
    posed_len = np.linalg.norm(verts[:, e[:, 0]] - verts[:, e[:, 1]], axis=-1)
    return flips.sum(axis=1), (posed_len / rest_len).max(axis=1)


def line_hits(verts: np.ndarray, faces: np.ndarray, origin: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Parameters t where the line origin + t * direction crosses the mesh (Möller-Trumbore on every face)."""
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    e1, e2 = b - a, c - a
    p = np.cross(direction, e2)
    det = np.einsum("ij,ij->i", e1, p)
    ok = np.abs(det) > 1e-15
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    s = origin - a
    u = np.einsum("ij,ij->i", s, p) * inv
    q = np.cross(s, e1)
    v = (q @ direction) * inv
    t = np.einsum("ij,ij->i", e2, q) * inv
    return t[ok & (u >= 0) & (v >= 0) & (u + v <= 1)]


def _thickness_at(verts: np.ndarray, faces: np.ndarray, joint: np.ndarray, direction: np.ndarray) -> float:
    """Distance between the nearest surface crossings on either side of the joint along `direction`."""
    hits = line_hits(verts, faces, joint, direction / np.linalg.norm(direction))
    ahead, behind = hits[hits > 0], hits[hits < 0]
    if len(ahead) == 0 or len(behind) == 0:
        return 0.0  # the joint is outside its own surface: as bad as a collapse
    return float(ahead.min() - behind.max())


def joint_thickness(model: HandModel, targets: QualityTargets = QualityTargets()) -> dict[str, list[float]]:
    """Per finger, the thickness through its three joints with all three bent together, over the straight finger's.

    Measured along the bend's bisector in the bend plane (the direction into the bend); straight, along the
    finger's pad direction (perpendicular to the bone, towards the palm side).
    """
    axes = joint_axes()
    ratios: dict[str, list[float]] = {}
    straight_out = model.forward(np.zeros(45))
    straight_j = straight_out.joints[0]
    for fi, finger in enumerate(FINGERS):
        bend = targets.thumb_bend if finger == "thumb" else targets.long_finger_bend
        bent_out = model.forward(finger_flexion_pose(finger, bend))
        bent_j = bent_out.joints[0]
        chain = [0] + [1 + 4 * fi + k for k in range(4)]  # wrist, then the finger's keypoints
        row = []
        for k, j in enumerate(FINGER_JOINTS[finger]):
            prev, at, nxt = chain[k], chain[k + 1], chain[k + 2]
            flex_axis, _, d = axes[j]
            pad = np.cross(flex_axis, d)
            if k == 0:
                prev_dir = d  # the first joint's parent is the palm, straight along the rest bone
            else:
                prev_dir = bent_j[at] - bent_j[prev]
            d1 = prev_dir / np.linalg.norm(prev_dir)
            d2 = (bent_j[nxt] - bent_j[at]) / np.linalg.norm(bent_j[nxt] - bent_j[at])
            inner = d2 - d1 if np.linalg.norm(d2 - d1) > 1e-6 else pad
            straight = _thickness_at(straight_out.vertices[0], model.faces, straight_j[at], pad)
            bent = _thickness_at(bent_out.vertices[0], model.faces, bent_j[at], inner)
            row.append(bent / straight)
        ratios[finger] = row
    return ratios


def penetration(model: HandModel, poses: np.ndarray, targets: QualityTargets = QualityTargets()
                ) -> tuple[np.ndarray, np.ndarray]:
    """Per pose the deepest penetration (metres, ≥ 0) between neighbouring fingers (N,) and finger-palm (N,).

    A vertex has sunk into another part when a point just outside it is inside the closed posed mesh (ray parity,
    majority of 3 rays) *and* it lies behind the nearest triangle of another part (away from the seams where the
    two are joined at rest); the depth is the distance to that triangle, counted for the pair it belongs to
    (`models.hand.contact`).
    """
    finder = ContactFinder(model.v_template, model.faces, model.weights, targets.seam)
    deepest = np.array([finder.find(v).deepest() for v in model.forward(poses).vertices]).reshape(-1, 2)
    return deepest[:, 0], deepest[:, 1]


def evaluate(model: HandModel, poses: np.ndarray, targets: QualityTargets = QualityTargets()) -> QualityReport:
    """All four measures over `poses` (N, 45) at β = 0; thickness from the per-finger bends in `targets`."""
    poses = np.atleast_2d(np.asarray(poses, dtype=np.float64))
    flipped, stretch = flips_and_stretch(model, poses, targets)
    fingers, palm = penetration(model, poses, targets)
    thickness = joint_thickness(model, targets)
    return QualityReport(
        poses=len(poses), flipped_triangles=int(flipped.sum()), poses_with_flips=int((flipped > 0).sum()),
        max_stretch=float(stretch.max()), min_thickness=float(min(min(r) for r in thickness.values())),
        thickness={f: [round(x, 3) for x in r] for f, r in thickness.items()},
        max_penetration_fingers=float(fingers.max()), max_penetration_palm=float(palm.max()),
        p95_penetration=float(np.percentile(np.maximum(fingers, palm), 95)),
        share_meeting={"no flips": float(np.mean(flipped == 0)),
                       "stretch": float(np.mean(stretch <= targets.max_stretch)),
                       "penetration": float(np.mean(np.maximum(fingers, palm) <= targets.max_penetration)),
                       "all": float(np.mean((flipped == 0) & (stretch <= targets.max_stretch)
                                            & (np.maximum(fingers, palm) <= targets.max_penetration)))})


def closed_hand_poses(n: int = 60, seed: int = 0, *, keep_tips_out: bool = True) -> np.ndarray:
    """The prior's closed hands: the named fist and pinch plus `n` grasps drawn from the prior with every long
    finger at least two-thirds closed (`keep_tips_out=False`: the prior's before 2026-12-07, fingers and thumb
    through the palm and each other; see `models.pose_prior.sample_angles`)."""
    from models.pose_prior import angles_to_pose, sample_angles

    rng = np.random.default_rng(seed)
    found = [np.zeros((0, 45))]
    while sum(len(x) for x in found) < n:
        flex, abd, twist = sample_angles(20 * n, rng, keep_tips_out=keep_tips_out)
        long_pips = [FINGER_JOINTS[f][1] for f in FINGERS[1:]]
        closed = np.all(flex[:, long_pips] > np.deg2rad(70.0), axis=1)
        found.append(angles_to_pose(flex[closed], abd[closed], twist[closed]))
    grasps = np.concatenate(found)[:n]
    named = [named_pose(name, keep_tips_out=keep_tips_out) for name in ("fist", "pinch")]
    return np.concatenate([np.stack(named), grasps])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="hand model file (default: the active one)")
    parser.add_argument("--bank", type=Path, action="append", default=[], help="pose bank .npz (repeatable)")
    parser.add_argument("--closed", type=int, default=60,
                        help="closed hands drawn from the prior besides the fist and the pinch (default 60)")
    parser.add_argument("--json", type=Path, default=None, help="also write the reports here")
    args = parser.parse_args(argv)
    if args.closed < 0:
        parser.error(f"--closed must be >= 0, got {args.closed}")
    from models.synth.pose_bank import load_pose_bank

    model = load_hand_model(args.model)
    sets = {bank.stem: load_pose_bank(bank).theta for bank in args.bank}
    sets["closed"] = closed_hand_poses(args.closed)
    reports = {}
    for name, poses in sets.items():
        reports[name] = evaluate(model, poses)
        print(f"{name}: {reports[name].summary()}; thickness {reports[name].thickness}")
    if args.json:
        args.json.write_text(json.dumps({k: asdict(v) for k, v in reports.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
