"""An anatomical hand pose prior: random but plausible poses, fast enough to draw 100k at a time.

It is where the open hand model's 45-D pose PCA comes from, and the default pose bank of the synthetic data. A pose
is 15 joint rotations (MANO order, wrist excluded) as absolute axis-angle, flat hand = zeros, in MANO's canonical
frame (see `models.hand.skeleton`). Each joint gets a flexion, abduction and twist angle about its own anatomical
axes, within per-joint limits; fingers are coupled the way real hands are (the DIP follows about 2/3 of the PIP,
neighbouring fingers close together, spread shrinks as the hand closes, the thumb opposes as the fingers close),
a long finger closes no further than where it meets the palm, and the thumb no further than where it meets the palm
or a finger.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from models.hand.skeleton import FINGER_JOINTS, joint_axes

_DEG = np.pi / 180.0


@dataclass(frozen=True)
class JointLimits:
    """Anatomical ranges in degrees (flexion, abduction, twist) for one joint; the sampler never leaves them."""

    flex: tuple[float, float]
    abd: tuple[float, float]
    twist: tuple[float, float]


MCP_LIMITS = JointLimits(flex=(-25.0, 90.0), abd=(-25.0, 25.0), twist=(-8.0, 8.0))
PIP_LIMITS = JointLimits(flex=(-5.0, 110.0), abd=(-4.0, 4.0), twist=(-4.0, 4.0))
DIP_LIMITS = JointLimits(flex=(-5.0, 80.0), abd=(-4.0, 4.0), twist=(-4.0, 4.0))
THUMB_CMC_LIMITS = JointLimits(flex=(-20.0, 50.0), abd=(-10.0, 60.0), twist=(-10.0, 45.0))
THUMB_MCP_LIMITS = JointLimits(flex=(-10.0, 60.0), abd=(-8.0, 8.0), twist=(-8.0, 8.0))
THUMB_IP_LIMITS = JointLimits(flex=(-20.0, 80.0), abd=(-4.0, 4.0), twist=(-4.0, 4.0))


def joint_limits() -> dict[int, JointLimits]:
    """Limits for each of the 15 finger joints, keyed by MANO joint index (1..15)."""
    limits: dict[int, JointLimits] = {}
    for finger, (j1, j2, j3) in FINGER_JOINTS.items():
        if finger == "thumb":
            limits.update({j1: THUMB_CMC_LIMITS, j2: THUMB_MCP_LIMITS, j3: THUMB_IP_LIMITS})
        else:
            limits.update({j1: MCP_LIMITS, j2: PIP_LIMITS, j3: DIP_LIMITS})
    return limits


# Spread direction per finger (degrees of MCP abduction at full spread): positive is towards the thumb.
_SPREAD = {"index": 14.0, "middle": 3.0, "ring": -9.0, "pinky": -20.0}
_LONG_FINGERS = ("index", "middle", "ring", "pinky")


def _quaternions(angles: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """(n, 15) angles about fixed unit axes (15, 3) -> (n, 15, 4) quaternions (w, x, y, z)."""
    half = 0.5 * angles[..., None]
    return np.concatenate([np.cos(half), np.sin(half) * axes[None]], axis=-1)


def _hamilton(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ], axis=-1)


def angles_to_pose(flex: np.ndarray, abd: np.ndarray | None = None, twist: np.ndarray | None = None) -> np.ndarray:
    """(n, 16) joint angles in radians (column 0, the wrist, is ignored) -> (n, 45) absolute axis-angle pose.

    The rotation is abduction ∘ flexion ∘ twist about the joint's axes from `models.hand.skeleton.joint_axes`
    (composed as quaternions: plain numpy, fast enough for 100k poses at once).
    """
    flex = np.atleast_2d(np.asarray(flex, dtype=np.float64))
    n = flex.shape[0]
    abd = np.zeros_like(flex) if abd is None else np.atleast_2d(np.asarray(abd, dtype=np.float64))
    twist = np.zeros_like(flex) if twist is None else np.atleast_2d(np.asarray(twist, dtype=np.float64))
    axes = joint_axes()[1:]  # (15, 3 rows, 3)
    q = _hamilton(_hamilton(_quaternions(abd[:, 1:], axes[:, 1]), _quaternions(flex[:, 1:], axes[:, 0])),
                  _quaternions(twist[:, 1:], axes[:, 2]))
    q *= np.where(q[..., :1] < 0, -1.0, 1.0)  # the short way round: angle in [0, pi]
    vec = q[..., 1:]
    norm = np.linalg.norm(vec, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(norm, q[..., :1])
    scale = np.where(norm > 1e-12, angle / np.maximum(norm, 1e-12), 2.0)  # small angles: rotvec ~ 2 * vec
    return (vec * scale).reshape(n, 45)


def pose_to_angles(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, 45) axis-angle pose -> (flex, abd, twist), each (n, 16) radians (column 0 zero): `angles_to_pose`'s inverse.

    Of the two angle triples that give a rotation, the one with |abduction| <= 90° (flexion may pass 90°).
    Why: to read a fitted pose against the anatomical limits, and to start a fit in angle space.
    """
    from scipy.spatial.transform import Rotation

    theta = np.atleast_2d(np.asarray(theta, dtype=np.float64))
    n = theta.shape[0]
    axes = joint_axes()[1:]
    r = Rotation.from_rotvec(theta.reshape(-1, 3)).as_matrix().reshape(n, 15, 3, 3)
    local = np.einsum("jab,njbc,jdc->njad", axes, r, axes)  # Ry(abd) Rx(flex) Rz(twist) in the joint's axes
    cos_flex = np.hypot(local[..., 1, 0], local[..., 1, 1])
    flex = np.arctan2(-local[..., 1, 2], cos_flex)
    abd = np.arctan2(local[..., 0, 2], local[..., 2, 2])
    twist = np.arctan2(local[..., 1, 0], local[..., 1, 1])
    # Flexion at ±90° (to float32 precision): only abduction ∓ twist is defined (Ry(a) Rx(±90°) Rz(t) =
    # Ry(a ∓ t) Rx(±90°)); it is split evenly, which keeps both within limits that held them.
    lock = cos_flex < 1e-5
    combined = np.arctan2(-local[..., 2, 0], local[..., 0, 0])
    abd = np.where(lock, 0.5 * combined, abd)
    twist = np.where(lock, -np.sign(flex) * 0.5 * combined, twist)
    other = np.abs(abd) > np.pi / 2  # the same rotation as (abd ± 180°, 180° - flex, twist ± 180°)
    abd = np.where(other, abd - np.pi * np.sign(abd), abd)
    twist = np.where(other, twist - np.pi * np.sign(twist), twist)
    flex = np.where(other, np.mod(2 * np.pi - flex, 2 * np.pi) - np.pi, flex)
    pad = np.zeros((n, 1))
    return tuple(np.concatenate([pad, a], axis=1) for a in (flex, abd, twist))


def limit_bounds(slack_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(low, high), each (3, 16) radians — rows flexion, abduction, twist; column 0 (the wrist) free —
    `joint_limits()` widened by `slack_deg` on each side."""
    low = np.full((3, 16), -np.pi)
    high = np.full((3, 16), np.pi)
    for j, lim in joint_limits().items():
        for row, (lo, hi) in enumerate((lim.flex, lim.abd, lim.twist)):
            low[row, j], high[row, j] = (lo - slack_deg) * _DEG, (hi + slack_deg) * _DEG
    return low, high


def beyond_limits(theta: np.ndarray, slack_deg: float = 0.0) -> np.ndarray:
    """(n,) radians by which the joint furthest out of `limit_bounds(slack_deg)` lies beyond them, per pose (≤ 0: all
    within). Why: to tell a fitted real pose a hand can make from one an unconstrained fit folded."""
    low, high = limit_bounds(slack_deg)
    angles = np.stack(pose_to_angles(theta), axis=1)[:, :, 1:]  # (n, 3, 15)
    return np.maximum(low[:, 1:] - angles, angles - high[:, 1:]).max(axis=(1, 2))


def _clip(values: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    return np.clip(values, bounds[0] * _DEG, bounds[1] * _DEG)


_SAMPLES = np.linspace(0.0, 1.0, 6)  # points along each phalanx where contact is read


@functools.lru_cache(maxsize=1)
def _rest_axes() -> np.ndarray:
    """`joint_axes()`, made once (4 ms a call; treat as read-only)."""
    return joint_axes()


def _joint_rotations(flex: np.ndarray, abd: np.ndarray, twist: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """(n, len(joints), 3, 3) the rotation matrices `angles_to_pose` describes, for some joints only (straight from
    the quaternions: the contact stops pose a few joints many times over)."""
    axes = _rest_axes()[joints]
    w, x, y, z = np.moveaxis(_hamilton(_hamilton(_quaternions(abd[:, joints], axes[:, 1]),
                                                 _quaternions(flex[:, joints], axes[:, 0])),
                                       _quaternions(twist[:, joints], axes[:, 2])), -1, 0)
    return np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
                     2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
                     2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=-1
                    ).reshape(*w.shape, 3, 3)


@functools.lru_cache(maxsize=8)
def _capsule_axes(fingers: tuple[str, ...], ks: tuple[int, ...]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per finger its joints (F, 3) and rest joints (F, 3, 3); per finger and phalanx k in `ks` its capsule's axis
    sampled at `_SAMPLES`, from the joint carrying it (F, len(ks), 6, 3), with the radii there (F, len(ks), 6)."""
    from models.hand.skeleton import rest_joints
    from models.hand.surface import phalanx_capsule

    joints = np.array([FINGER_JOINTS[f] for f in fingers])
    rest = rest_joints()[joints]
    axes, radii = np.empty((len(fingers), len(ks), len(_SAMPLES), 3)), np.empty((len(fingers), len(ks), len(_SAMPLES)))
    for fi, finger in enumerate(fingers):
        for ki, k in enumerate(ks):
            start, end, r_start, r_end = phalanx_capsule(finger, k)
            axes[fi, ki] = start + _SAMPLES[:, None] * (end - start) - rest[fi, k]
            radii[fi, ki] = r_start + _SAMPLES * (r_end - r_start)
    return joints, rest, axes, radii


def _phalanges(fingers: tuple[str, ...], flex: np.ndarray, abd: np.ndarray, twist: np.ndarray, ks: tuple[int, ...]
               ) -> tuple[np.ndarray, np.ndarray]:
    """The phalanges `ks` (0 first) of `fingers`, posed: their capsules' axes sampled at `_SAMPLES`,
    (n, fingers, len(ks), 6, 3) metres in the wrist's frame, and the radii there, (fingers, len(ks), 6).

    The capsules are the open hand model's implicit ones (`models.hand.surface.phalanx_capsule`), read round, not
    flattened (a finger stops up to 1 mm early); only the fingers' own chains are posed (the wrist stays put), so no
    mesh is needed.
    """
    joints, rest, axes, radii = _capsule_axes(fingers, ks)
    n, nf = len(flex), len(fingers)
    rots = _joint_rotations(flex, abd, twist, joints.ravel()).reshape(n, nf, 3, 3, 3)
    world_r, world_t = rots[:, :, 0], np.broadcast_to(rest[:, 0], (n, nf, 3))
    points = []
    for k in range(max(ks) + 1):
        if k:  # the next joint: carried by the bone before it
            world_t = world_t + (world_r @ (rest[:, k] - rest[:, k - 1])[..., None])[..., 0]
            world_r = world_r @ rots[:, :, k]
        if k in ks:
            along = axes[:, ks.index(k)]  # (F, 6, 3)
            points.append(np.swapaxes(world_r @ np.swapaxes(along, 1, 2), 2, 3) + world_t[:, :, None])
    return np.stack(points, axis=2), radii


def palm_depth(flex: np.ndarray, abd: np.ndarray, twist: np.ndarray) -> np.ndarray:
    """(n, 4) how deep (metres; > 0 inside, < 0 the gap) each long finger's middle and last phalanx sink into the
    palm (the implicit hand's slab and hypothenar pad; `_phalanges` says what a phalanx is)."""
    from models.hand.surface import palm_distance

    points, radii = _phalanges(_LONG_FINGERS, flex, abd, twist, (1, 2))
    return (radii - palm_distance(points)).max(axis=(2, 3))


def _thumb_depth(thumb: tuple[np.ndarray, np.ndarray], fingers: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(n,) deepest overlap of the thumb's posed phalanges (`_phalanges` output) with the palm or the long fingers'
    phalanges (the same; each a tapered capsule between its first and last sample)."""
    from models.hand.surface import palm_distance

    (p, rp), (q, rq) = thumb, fingers
    p, rp = p.reshape(len(p), -1, 3), rp.reshape(-1)
    depth = (rp - palm_distance(p)).max(axis=1)
    a, b = q[..., 0, :].reshape(len(q), -1, 3), q[..., -1, :].reshape(len(q), -1, 3)  # (n, phalanges, 3)
    ra, rb = rq[..., 0].reshape(-1), rq[..., -1].reshape(-1)
    # Per coordinate, (n, thumb points, phalanges): a quarter of the time of the same on (..., 3) arrays.
    ap = [p[:, :, None, c] - a[:, None, :, c] for c in range(3)]
    ab = [(b - a)[:, None, :, c] for c in range(3)]
    t = np.clip((ap[0] * ab[0] + ap[1] * ab[1] + ap[2] * ab[2]) / (ab[0] ** 2 + ab[1] ** 2 + ab[2] ** 2), 0.0, 1.0)
    dist = np.sqrt(sum((ap[c] - t * ab[c]) ** 2 for c in range(3)))
    gap = dist - (ra + t * (rb - ra)) - rp[:, None]
    return np.maximum(depth, -gap.min(axis=(1, 2)))


def thumb_depth(flex: np.ndarray, abd: np.ndarray, twist: np.ndarray) -> np.ndarray:
    """(n,) how deep (metres; > 0 overlapping) the thumb's last two phalanges overlap the palm or any phalanx of a
    long finger."""
    return _thumb_depth(_phalanges(("thumb",), flex, abd, twist, (1, 2)),
                        _phalanges(_LONG_FINGERS, flex, abd, twist, (0, 1, 2)))


def _largest_clear_scale(depth_at: Callable[[np.ndarray], np.ndarray], clear: np.ndarray, steps: int = 12
                         ) -> np.ndarray:
    """The largest s in [0, 1] (to 2^-steps, by bisection) with depth_at(s) <= 0, elementwise; `clear` marks those
    already clear at s = 1 (they keep 1). The others overlap at s = 1 and are clear at s = 0 (the joints scaled by s
    towards the flat hand's).

    Why bisection: regula falsi (Illinois) in 6 steps left a third of the fingers more than 0.1 mm short of the
    palm and some thumbs 8 mm short; 12 halvings bound the scale to 1/4096 (a tip to ~0.1 mm) whatever the shape.
    """
    lo, hi = np.where(clear, 1.0, 0.0), np.ones(clear.shape)
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        ok = depth_at(mid) <= 0.0
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    return lo


def keep_tips_out_of_palm(flex: np.ndarray, abd: np.ndarray, twist: np.ndarray) -> np.ndarray:
    """`flex` with each long finger whose last phalanges would sink into the palm closed only until they touch it
    (its three flexions scaled down together).

    Why: the limits alone let a finger close through the palm: a quarter of this prior's poses did (up to 15 mm),
    of NYU's test labels fitted within the limits 2 of 1,032. Synthetic training data showed such fists, and no
    mesh can draw them without folding the palm (weights/HAND_MODEL.md, "A fist stops at the palm").
    """
    depth = palm_depth(flex, abd, twist)
    rows = np.flatnonzero((depth > 0.0).any(axis=1))
    out = flex.copy()
    if len(rows) == 0:
        return out
    cols = np.array([FINGER_JOINTS[f] for f in _LONG_FINGERS])  # (4, 3)
    f, a, t = flex[rows], abd[rows], twist[rows]

    def depth_at(scale: np.ndarray) -> np.ndarray:  # scale (rows, 4): one per finger
        trial = f.copy()
        trial[:, cols] *= scale[:, :, None]
        return palm_depth(trial, a, t)

    out[rows[:, None, None], cols] *= _largest_clear_scale(depth_at, depth[rows] <= 0.0)[:, :, None]
    return out


def keep_thumb_clear(flex: np.ndarray, abd: np.ndarray, twist: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(flex, abd, twist) with a thumb that would overlap the palm or a long finger moved back only until it
    touches: all its joints' angles scaled down together, towards the flat hand's thumb (clear of any hand).

    Why: after the long fingers stopped at the palm, the thumb was what still sank in: into the index finger or the
    palm in 16 % of the prior's poses (up to 18 mm; the named fist's 15 mm, the pinch's pads 6 mm). It stops where it
    touches, as the long fingers do, and moves back along its whole chain: of the ways tried, the one whose closed
    hands the hand model draws best (weights/HAND_MODEL.md, "The thumb stops too").
    """
    thumb = list(FINGER_JOINTS["thumb"])
    fingers = _phalanges(_LONG_FINGERS, flex, abd, twist, (0, 1, 2))
    depth = _thumb_depth(_phalanges(("thumb",), flex, abd, twist, (1, 2)), fingers)
    rows = np.flatnonzero(depth > 0.0)
    out = tuple(x.copy() for x in (flex, abd, twist))
    if len(rows) == 0:
        return out
    picked = tuple(x[rows] for x in (flex, abd, twist))
    around = (fingers[0][rows], fingers[1])

    def depth_at(scale: np.ndarray) -> np.ndarray:
        trial = tuple(x.copy() for x in picked)
        for x in trial:
            x[:, thumb] *= scale[:, None]
        return _thumb_depth(_phalanges(("thumb",), *trial, (1, 2)), around)

    scale = _largest_clear_scale(depth_at, np.zeros(len(rows), dtype=bool))
    for x in out:
        x[rows[:, None], thumb] *= scale[:, None]
    return out


def close_until_touching(flex: np.ndarray, abd: np.ndarray, twist: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The long fingers stopped at the palm (`keep_tips_out_of_palm`), then the thumb at the palm and the long
    fingers (`keep_thumb_clear`): what `sample_angles` and the named poses do."""
    return keep_thumb_clear(keep_tips_out_of_palm(flex, abd, twist), abd, twist)


def sample_angles(n: int, rng: np.random.Generator, *, keep_tips_out: bool = True
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(flex, abd, twist), each (n, 16) radians within `joint_limits()`, with anatomical coupling; a finger closes
    no further than where it meets the palm, the thumb than where it meets the palm or a finger
    (`close_until_touching`; `keep_tips_out=False`: as far as the limits allow, the prior before 2026-12-07, from
    which the hand model's pose PCA was made)."""
    if n < 0:
        raise ValueError(f"sample_poses: n must be >= 0, got {n}")
    flex = np.zeros((n, 16))
    abd = np.zeros((n, 16))
    twist = np.zeros((n, 16))

    # How closed each long finger is, in [0, 1]: a mixture of whole-hand grasps (fingers move together, neighbours
    # most alike), independent fingers (pointing, counting) and nearly open hands.
    mode = rng.random(n)
    grasp = rng.random(n) ** 0.8
    noise = rng.normal(size=(n, 4))
    noise[:, 1:] = 0.6 * noise[:, :-1] + 0.8 * noise[:, 1:]  # neighbouring fingers correlated
    closure = np.clip(grasp[:, None] + 0.15 * noise, 0.0, 1.0)
    independent = mode < 0.3
    free = rng.random((n, 4))
    free[:, 2] = 0.55 * free[:, 2] + 0.45 * 0.5 * (free[:, 1] + free[:, 3])  # the ring finger follows its neighbours
    closure[independent] = free[independent]
    open_hand = mode > 0.85
    closure[open_hand] = 0.25 * rng.random((int(open_hand.sum()), 4))
    spread = (rng.random(n) * 1.2 - 0.2) * (1.0 - closure.mean(axis=1))

    for fi, finger in enumerate(_LONG_FINGERS):
        j1, j2, j3 = FINGER_JOINTS[finger]
        c = closure[:, fi]
        flex[:, j1] = _clip((-15.0 + 100.0 * c) * _DEG + rng.normal(0, 8 * _DEG, n), MCP_LIMITS.flex)
        flex[:, j2] = _clip((105.0 * c**0.9) * _DEG + rng.normal(0, 10 * _DEG, n), PIP_LIMITS.flex)
        flex[:, j3] = _clip(flex[:, j2] * 2.0 / 3.0 + rng.normal(0, 6 * _DEG, n), DIP_LIMITS.flex)
        abd[:, j1] = _clip(spread * _SPREAD[finger] * _DEG + rng.normal(0, 3 * _DEG, n), MCP_LIMITS.abd)
        twist[:, j1] = _clip(rng.normal(0, 3 * _DEG, n), MCP_LIMITS.twist)
        for j, lim in ((j2, PIP_LIMITS), (j3, DIP_LIMITS)):
            abd[:, j] = _clip(rng.normal(0, 1.5 * _DEG, n), lim.abd)
            twist[:, j] = _clip(rng.normal(0, 1.5 * _DEG, n), lim.twist)

    # The thumb opposes more as the fingers close, but also moves on its own (pinch, thumbs-up).
    t1, t2, t3 = FINGER_JOINTS["thumb"]
    oppose = np.clip(0.5 * closure.mean(axis=1) + 0.5 * rng.random(n), 0.0, 1.0)
    curl = np.clip(0.6 * oppose + 0.4 * rng.random(n), 0.0, 1.0)
    flex[:, t1] = _clip((-15.0 + 55.0 * oppose) * _DEG + rng.normal(0, 7 * _DEG, n), THUMB_CMC_LIMITS.flex)
    abd[:, t1] = _clip((45.0 * oppose) * _DEG + rng.normal(0, 8 * _DEG, n), THUMB_CMC_LIMITS.abd)
    twist[:, t1] = _clip((35.0 * oppose) * _DEG + rng.normal(0, 6 * _DEG, n), THUMB_CMC_LIMITS.twist)
    flex[:, t2] = _clip((-5.0 + 55.0 * curl) * _DEG + rng.normal(0, 6 * _DEG, n), THUMB_MCP_LIMITS.flex)
    flex[:, t3] = _clip((-15.0 + 85.0 * curl) * _DEG + rng.normal(0, 10 * _DEG, n), THUMB_IP_LIMITS.flex)
    for j, lim in ((t2, THUMB_MCP_LIMITS), (t3, THUMB_IP_LIMITS)):
        abd[:, j] = _clip(rng.normal(0, 2 * _DEG, n), lim.abd)
        twist[:, j] = _clip(rng.normal(0, 2 * _DEG, n), lim.twist)
    if keep_tips_out and n:
        flex, abd, twist = close_until_touching(flex, abd, twist)
    return flex, abd, twist


def sample_straight_thumb(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 45) open hands with a straight thumb (MCP and IP nearly straight), anywhere from beside the index finger
    (CMC flexed up to 30° towards it) to spread (abducted up to 50°). `sample_poses` curls the thumb as it opposes:
    its thumb is this straight (bent < 20° from metacarpal to tip) in only 5 % of its poses, and the depth network
    read straight thumbs as bent (docs/checks/cadstn_thumb.py). The long fingers are the prior's open hands
    (every PIP under 40°)."""
    if n < 0:
        raise ValueError(f"sample_straight_thumb: n must be >= 0, got {n}")
    flex, abd, twist = np.zeros((0, 16)), np.zeros((0, 16)), np.zeros((0, 16))
    pips = [FINGER_JOINTS[f][1] for f in _LONG_FINGERS]
    while len(flex) < n:
        f, a, t = sample_angles(8 * (n - len(flex)) + 8, rng)
        keep = (f[:, pips] < 40 * _DEG).all(axis=1)
        flex, abd, twist = (np.concatenate([x, y[keep]]) for x, y in ((flex, f), (abd, a), (twist, t)))
    flex, abd, twist = flex[:n], abd[:n], twist[:n]
    t1, t2, t3 = FINGER_JOINTS["thumb"]
    flex[:, t1] = rng.uniform(-15.0, 30.0, n) * _DEG
    abd[:, t1] = rng.uniform(-5.0, 50.0, n) * _DEG
    twist[:, t1] = _clip(rng.normal(5 * _DEG, 5 * _DEG, n), THUMB_CMC_LIMITS.twist)
    flex[:, t2] = rng.uniform(-10.0, 15.0, n) * _DEG
    flex[:, t3] = rng.uniform(-15.0, 15.0, n) * _DEG
    return angles_to_pose(flex, abd, twist) if n else np.zeros((0, 45))


def sample_poses(n: int, rng: np.random.Generator, *, keep_tips_out: bool = True) -> np.ndarray:
    """(n, 45) absolute axis-angle poses (flat hand = zeros) from the anatomical prior; float64 (`keep_tips_out`:
    as `sample_angles`)."""
    flex, abd, twist = sample_angles(n, rng, keep_tips_out=keep_tips_out)
    if n == 0:
        return np.zeros((0, 45))
    return angles_to_pose(flex, abd, twist)
