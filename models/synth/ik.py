"""Batched inverse kinematics: hand-model pose θ (45-D) from 3-D joint annotations of any joint layout.

Why: real pose banks (BigHand2.2M, NYU, ICVL) give joint positions, while the renderer needs θ. Each format's
joints are tied to our 21 keypoints by a correspondence (`JointMap`): annotation-side and model-side weight
rows, so a format joint may be a blend of model joints (e.g. NYU's palm centre) and vice versa (NYU's two
wrist points average to our wrist). The fit solves θ, β, global rotation and translation by Adam on the
differentiable kinematic chain of the hand model (`JointChain`: the model's joints and fingertips only, equal to
`HandLayer`/`HandModel.forward` joints, ~50x cheaper than skinning every vertex), starting from a Kabsch
alignment of the mean pose, and reports the residual in mm. By default the pose is fitted as each joint's flexion,
abduction and twist, kept within the anatomical prior's limits (`IKOptions.anatomical`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.hand.skeleton import joint_axes
from models.pose_prior import angles_to_pose, limit_bounds, pose_to_angles
from models.rotations import procrustes, rodrigues


@dataclass(frozen=True)
class JointMap:
    """`annotation_weights @ annotation_joints ≈ model_weights @ model_joints_21`, one row per constraint.
    `mirrored`: the labels are of the mirror image of our right hand (a left hand, or a flipped image), so the fit
    reads them mirrored (x → −x)."""

    name: str
    num_joints: int  # joints per annotation in this format
    annotation_weights: np.ndarray  # (C, num_joints)
    model_weights: np.ndarray  # (C, 21)
    mirrored: bool = False

    def fit_frame(self, joints: np.ndarray) -> np.ndarray:
        """Labels (..., num_joints, 3) in the frame a fit poses our right hand in: mirrored x → −x for a mirrored map
        (so a fitted hand is compared with them there)."""
        return joints * np.array([-1.0, 1.0, 1.0]) if self.mirrored else joints


def _one_to_one(name: str, pairs: list[tuple[int, int]], num_joints: int,
                extra: list[tuple[dict[int, float], dict[int, float]]] = (), mirrored: bool = False) -> JointMap:
    rows = [({a: 1.0}, {m: 1.0}) for a, m in pairs] + list(extra)
    ann = np.zeros((len(rows), num_joints))
    mod = np.zeros((len(rows), 21))
    for r, (a_w, m_w) in enumerate(rows):
        for k, w in a_w.items():
            ann[r, k] = w
        for k, w in m_w.items():
            mod[r, k] = w
    return JointMap(name, num_joints, ann, mod, mirrored)


# Our 21 keypoints (MediaPipe order): 0 wrist; thumb 1 CMC, 2 MCP, 3 IP, 4 tip; index 5 MCP, 6 PIP, 7 DIP, 8 tip;
# middle 9-12; ring 13-16; pinky 17-20.
HAND21 = _one_to_one("hand21", [(k, k) for k in range(21)], 21)

# BigHand2.2M Training_Annotation.txt: wrist, then the MCPs of thumb, index, middle, ring, pinky, then per finger
# (thumb, index, middle, ring, pinky) its PIP, DIP, tip (for the thumb: MCP, IP, tip follow the CMC/"MCP").
BIGHAND21 = _one_to_one("bighand", [
    (0, 0), (1, 1), (2, 5), (3, 9), (4, 13), (5, 17),
    (6, 2), (7, 3), (8, 4), (9, 6), (10, 7), (11, 8), (12, 10), (13, 11), (14, 12),
    (15, 14), (16, 15), (17, 16), (18, 18), (19, 19), (20, 20)], 21)

# NYU, the usual 14-of-36 subset (DeepPrior/A2J order): 0 pinky tip, 1 pinky PIP, 2 ring tip, 3 ring PIP,
# 4 middle tip, 5 middle PIP, 6 index tip, 7 index PIP, 8 thumb tip, 9 thumb IP, 10 thumb MCP, 11 and 12 the two
# sides of the wrist (their mean is our wrist), 13 the palm centre: 0.3 of the wrist and 0.7 of the four MCPs' mean,
# where the other labels place it (fitted without it; halfway, the palm label lay 19.6 mm further towards the
# fingers than the point tied to it, and the fit turned the palm and swept the fingers back; weights/HAND_MODEL.md).
NYU_PALM_WRIST = 0.3
NYU14 = _one_to_one("nyu", [(0, 20), (1, 18), (2, 16), (3, 14), (4, 12), (5, 10), (6, 8), (7, 6),
                            (8, 4), (9, 3), (10, 2)], 14, extra=[
    ({11: 0.5, 12: 0.5}, {0: 1.0}),
    ({13: 1.0}, {0: NYU_PALM_WRIST, **{k: (1.0 - NYU_PALM_WRIST) / 4 for k in (5, 9, 13, 17)}}),
])

# ICVL 16: 0 palm, then root, mid and tip for thumb, index, middle, ring, pinky. What the other labels say, each
# left out of the fit in turn (weights/HAND_MODEL.md, "How NYU's and ICVL's labels are read"): the labels are of the
# mirror image of a right hand; a finger's three are its MCP, PIP and DIP (the thumb's CMC, MCP and IP), not its
# fingertip; the palm is the middle of the wrist and the four MCPs.
ICVL16 = _one_to_one("icvl", [(1, 1), (2, 2), (3, 3), (4, 5), (5, 6), (6, 7), (7, 9), (8, 10), (9, 11),
                              (10, 13), (11, 14), (12, 15), (13, 17), (14, 18), (15, 19)], 16, extra=[
    ({0: 1.0}, {0: 0.5, 5: 0.125, 9: 0.125, 13: 0.125, 17: 0.125}),
], mirrored=True)

JOINT_MAPS = {m.name: m for m in (HAND21, BIGHAND21, NYU14, ICVL16)}


@dataclass
class IKOptions:
    iterations: int = 300
    learning_rate: float = 0.05
    # Regularisers, in m² of joint error per unit: pull θ (or the joint angles) towards the mean pose (rad²) and β
    # towards 0.
    pose_weight: float = 1e-6
    shape_weight: float = 1e-6
    fit_shape: bool = True
    batch_size: int = 512
    # Fit each joint's flexion, abduction and twist (`models.pose_prior`'s axes) kept within the prior's limits
    # widened by `limit_slack_deg`. Why: labels fix only some joints (NYU: PIP and tip; ICVL: MCP, PIP and tip),
    # and a free axis-angle fit twists and folds the joints between them any way that puts the tip right (ICVL's
    # DIPs bent ±170°, PIPs twisted 90°), which no hand does and which skinning turns into folded meshes.
    anatomical: bool = True
    limit_slack_deg: float = 10.0
    # With `anatomical`: how much neighbouring long fingers' overlap costs (m² per m² of overlap; `finger_overlap`).
    # Why: fingers side by side cannot pass through each other, but the labels' noise put NYU's 2 mm or more into
    # each other in 13 % of the poses. Chosen by how well a fit predicts a label left out of it: NYU's 0.5 mm closer
    # on average (the middle and ring PIPs 1.2 mm), flat from 3 to 100 (weights/HAND_MODEL.md).
    contact_weight: float = 30.0


@dataclass
class IKResult:
    theta: np.ndarray  # (N, 45) absolute axis-angle
    betas: np.ndarray  # (N, 10)
    global_orient: np.ndarray  # (N, 3)
    transl: np.ndarray  # (N, 3) metres
    error_mm: np.ndarray  # (N,) mean distance over the constraints after the fit


class JointChain:
    """The 21 keypoints of a `HandModel` as a differentiable torch function of (θ 45, β, global rotation).

    Same conventions as `HandModel.forward` (rotation about the wrist, fingertips are skinned vertices,
    pose blend shapes applied to the tips when the model has them).
    """

    def __init__(self, model) -> None:
        import torch

        from models.hand.skeleton import MANO_TO_KEYPOINTS

        t = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
        tips = model.fingertip_ids
        self.num_betas = model.num_betas
        self.rest = t(model.J_regressor @ model.v_template)  # (16, 3)
        self.rest_dirs = t(np.einsum("jv,vck->jck", model.J_regressor, model.shapedirs))  # (16, 3, B)
        self.tips = t(model.v_template[tips])
        self.tip_dirs = t(model.shapedirs[tips])  # (5, 3, B)
        self.tip_posedirs = t(model.posedirs[tips]) if np.any(model.posedirs) else None  # (5, 3, 135)
        self.tip_weights = t(model.weights[tips])  # (5, 16)
        parents = [int(p) for p in model.parents]
        depth = [0] * 16
        for j in range(1, 16):
            depth[j] = depth[parents[j]] + 1
        # joints grouped by depth in the tree, so the chain is walked in 3 batched steps instead of 15
        self.levels = [(torch.tensor([j for j in range(16) if depth[j] == d]),
                        torch.tensor([parents[j] for j in range(16) if depth[j] == d]))
                       for d in range(1, max(depth) + 1)]
        self.order = torch.tensor(MANO_TO_KEYPOINTS, dtype=torch.long)
        self.hands_mean = t(model.hands_mean)

    def __call__(self, theta, betas, orient):
        """(B, 21, 3) keypoints from θ (B, 45) axis-angle, β (B, num_betas) and the global rotation (B, 3)."""
        return self.from_rotations(rodrigues(theta.reshape(theta.shape[0], 15, 3)), betas, orient)

    def from_rotations(self, joint_rots, betas, orient):
        """The same from the 15 joints' rotation matrices (B, 15, 3, 3), for fits that are not in axis-angle."""
        import torch

        b = joint_rots.shape[0]
        rest = self.rest + torch.einsum("jck,bk->bjc", self.rest_dirs, betas)
        tips = self.tips + torch.einsum("tck,bk->btc", self.tip_dirs, betas)
        rots = torch.cat([rodrigues(orient)[:, None], joint_rots], 1)
        if self.tip_posedirs is not None:
            feature = (rots[:, 1:] - torch.eye(3)).reshape(b, -1)
            tips = tips + torch.einsum("bk,tck->btc", feature, self.tip_posedirs)
        wr = rots[:, :1]  # (b, n, 3, 3) world rotations of the joints placed so far, in `placed` order
        wt = rest[:, :1]
        placed = [0]
        for joints, parents in self.levels:
            slot = torch.tensor([placed.index(int(p)) for p in parents])
            pr, pt = wr[:, slot], wt[:, slot]
            wt = torch.cat([wt, pt + (pr @ (rest[:, joints] - rest[:, parents])[..., None])[..., 0]], 1)
            wr = torch.cat([wr, pr @ rots[:, joints]], 1)
            placed += joints.tolist()
        inverse = torch.tensor(np.argsort(placed))
        wr, wt = wr[:, inverse], wt[:, inverse]  # (b, 16, 3, 3), (b, 16, 3) in joint order
        local = tips[:, :, None, :] - rest[:, None, :, :]  # (b, 5, 16, 3)
        tip_pos = torch.einsum("tj,bjik,btjk->bti", self.tip_weights, wr, local) \
            + torch.einsum("tj,bji->bti", self.tip_weights, wt)
        return torch.cat([wt, tip_pos], 1)[:, self.order]


def fit_joints(joints_m: np.ndarray, joint_map: JointMap, model=None, options: IKOptions = IKOptions()) -> IKResult:
    """Fit the hand model (default: `load_hand_model()`) to (N, K, 3) joints in metres (any camera frame) of
    the layout `joint_map`. A `mirrored` map's hands are fitted in the mirrored frame: the global rotation and
    translation place the right hand on the labels mirrored x → −x."""
    import torch
    from scipy.spatial.transform import Rotation

    from models.hand.model import load_hand_model

    joints_m = np.asarray(joints_m, dtype=np.float64)
    if joints_m.ndim != 3 or joints_m.shape[1:] != (joint_map.num_joints, 3):
        raise ValueError(f"IK for {joint_map.name}: joints must be (N, {joint_map.num_joints}, 3), "
                         f"got {joints_m.shape}")
    if not np.isfinite(joints_m).all():
        raise ValueError(f"IK for {joint_map.name}: joints contain NaN or inf")
    layer = JointChain(load_hand_model() if model is None else model)
    targets_all = np.einsum("ck,nkd->ncd", joint_map.annotation_weights, joint_map.fit_frame(joints_m))
    model_w = torch.tensor(joint_map.model_weights, dtype=torch.float32)
    mean = layer.hands_mean.detach().clone()
    with torch.no_grad():
        rest = layer(mean[None], torch.zeros(1, layer.num_betas), torch.zeros(1, 3))
    rest_c = (model_w @ rest[0]).numpy().astype(np.float64)  # (C, 3) at the mean pose
    wrist = rest[0, 0].numpy().astype(np.float64)
    if options.anatomical:
        # the fit's pose is (flex, abd, twist) of the 15 joints, flattened (45,), kept within the widened limits
        low, high = limit_bounds(options.limit_slack_deg)
        bounds = (torch.tensor(low[:, 1:].ravel(), dtype=torch.float32),
                  torch.tensor(high[:, 1:].ravel(), dtype=torch.float32))
        mean_angles = np.stack(pose_to_angles(layer.hands_mean.numpy()[None]))[:, 0, 1:]  # (3, 15)
        start_pose = torch.maximum(torch.minimum(torch.tensor(mean_angles.ravel(), dtype=torch.float32), bounds[1]),
                                   bounds[0])
        axes = torch.tensor(joint_axes()[1:], dtype=torch.float32)

        def rotations(pose):
            return _angle_rotations(pose.reshape(-1, 3, 15), axes)

        def theta_of(pose):
            angles = np.concatenate([np.zeros((len(pose), 3, 1)), pose.reshape(-1, 3, 15)], axis=2)
            return angles_to_pose(angles[:, 0], angles[:, 1], angles[:, 2])
    else:
        bounds, start_pose = None, mean

        def rotations(pose):
            return rodrigues(pose.reshape(-1, 15, 3))

        def theta_of(pose):
            return pose
    out = {k: [] for k in ("theta", "betas", "orient", "transl", "err")}
    for start in range(0, len(joints_m), options.batch_size):
        tgt = targets_all[start:start + options.batch_size]
        b = len(tgt)
        _, r, t = procrustes(np.repeat(rest_c[None], b, 0), tgt, scale=False)
        # the layer rotates about the wrist, Kabsch about the origin: R x + t = R (x - w) + w + (t - w + R w)
        t = t - wrist + r @ wrist
        orient = torch.tensor(Rotation.from_matrix(r).as_rotvec(), dtype=torch.float32, requires_grad=True)
        transl = torch.tensor(t, dtype=torch.float32, requires_grad=True)
        pose = start_pose.repeat(b, 1).requires_grad_(True)
        betas = torch.zeros(b, layer.num_betas, requires_grad=options.fit_shape)
        target = torch.tensor(tgt, dtype=torch.float32)
        params = [orient, transl, pose] + ([betas] if options.fit_shape else [])
        opt = torch.optim.Adam(params, lr=options.learning_rate)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, options.iterations)
        for _ in range(options.iterations):
            opt.zero_grad()
            keypoints = layer.from_rotations(rotations(pose), betas, orient)
            pred = model_w @ keypoints + transl[:, None, :]
            loss = ((pred - target) ** 2).sum(-1).mean() \
                + options.pose_weight * ((pose - start_pose) ** 2).sum(-1).mean() \
                + options.shape_weight * (betas ** 2).sum(-1).mean()
            if options.anatomical and options.contact_weight:
                loss = loss + options.contact_weight * finger_overlap(keypoints).mean()
            loss.backward()
            opt.step()
            sched.step()
            if bounds is not None:
                with torch.no_grad():
                    pose.copy_(torch.maximum(torch.minimum(pose, bounds[1]), bounds[0]))
        with torch.no_grad():
            pred = model_w @ layer.from_rotations(rotations(pose), betas, orient) + transl[:, None, :]
            err = (pred - target).norm(dim=-1).mean(-1) * 1000.0
        out["theta"].append(theta_of(pose.detach().numpy().astype(np.float64)))
        out["betas"].append(betas.detach().numpy())
        out["orient"].append(orient.detach().numpy())
        out["transl"].append(transl.detach().numpy())
        out["err"].append(err.numpy())
    cat = {k: np.concatenate(v).astype(np.float32) for k, v in out.items()}
    return IKResult(cat["theta"], cat["betas"], cat["orient"], cat["transl"], cat["err"])


_LONG_FINGER_KEYPOINTS = {"index": [5, 6, 7, 8], "middle": [9, 10, 11, 12], "ring": [13, 14, 15, 16],
                          "pinky": [17, 18, 19, 20]}


def finger_overlap(keypoints, samples: int = 5):
    """(B,) how far neighbouring long fingers' phalanges overlap: the sum of squared overlaps (m²) between each
    phalanx of one finger and each of its neighbour's, as round capsules between the 21 keypoints (B, 21, 3) with the
    implicit hand's radii (`models.hand.skeleton.FINGER_RADII`, the mean of each phalanx's two ends), measured at
    `samples` points along the first finger's phalanx."""
    import torch

    from models.hand.skeleton import FINGER_RADII

    t = torch.linspace(0.0, 1.0, samples)
    total = torch.zeros(keypoints.shape[0], dtype=keypoints.dtype)
    fingers = list(_LONG_FINGER_KEYPOINTS)
    for fa, fb in zip(fingers, fingers[1:]):
        a_pts, b_pts = keypoints[:, _LONG_FINGER_KEYPOINTS[fa]], keypoints[:, _LONG_FINGER_KEYPOINTS[fb]]
        ra, rb = (0.485 * (FINGER_RADII[f][:3] + FINGER_RADII[f][1:]) for f in (fa, fb))  # 0.97 of the mean
        for i in range(3):
            points = a_pts[:, i, None] + t[None, :, None] * (a_pts[:, i + 1] - a_pts[:, i])[:, None]  # (B, S, 3)
            for j in range(3):
                start, bone = b_pts[:, j, None], (b_pts[:, j + 1] - b_pts[:, j])[:, None]
                along = (((points - start) * bone).sum(-1) / (bone * bone).sum(-1).clamp_min(1e-12)).clamp(0.0, 1.0)
                gap = (points - start - along[..., None] * bone).norm(dim=-1) - float(ra[i] + rb[j])
                total = total + torch.relu(-gap).pow(2).sum(-1)
    return total


def _angle_rotations(angles, axes):
    """(B, 3, 15) flexion, abduction, twist -> (B, 15, 3, 3) rotations abduction ∘ flexion ∘ twist about each
    joint's axes (15, 3, 3) — `models.pose_prior.angles_to_pose` in torch, as matrices.

    Built from plane rotations in each joint's frame rather than from `rodrigues` of each angle: the same rotation,
    but the banks (and `models/hand/fit_poses.npz`, made from them) reproduce bit for bit only with this arithmetic.
    """
    import torch

    def about(angle, i, j):  # rotation by `angle` in the (i, j) plane of the joint's axes
        c, s = torch.cos(angle), torch.sin(angle)
        m = torch.zeros(*angle.shape, 3, 3, dtype=angle.dtype)
        k = 3 - i - j
        m[..., k, k] = 1.0
        m[..., i, i], m[..., j, j], m[..., i, j], m[..., j, i] = c, c, -s, s
        return m

    flex, abd, twist = angles.unbind(1)  # each (B, 15)
    local = about(abd, 2, 0) @ about(flex, 1, 2) @ about(twist, 0, 1)
    return axes.transpose(-1, -2) @ local @ axes
