"""Pose-flows (SeqHAND Eq. 5-7): every frame is a bank pose and the flow closes in on its final pose."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from models.synth.pose_bank import PoseBank
from models.synth.pose_flow import FlowOptions, PoseFlowPlanner, approach, rotation_approach


@pytest.mark.parametrize("metric", ["l2", "l1_prev"])
def test_flow_visits_bank_poses_and_approaches_the_final_pose(small_bank: PoseBank, metric: str) -> None:
    planner = PoseFlowPlanner(small_bank, FlowOptions(frames=10, metric=metric))
    rng = np.random.default_rng(0)
    feats = small_bank.features
    ratios = []
    for _ in range(40):
        # the final pose is drawn by the planner: recover it by replaying the same rng draws
        state = rng.bit_generator.state
        _, final = rng.integers(0, len(small_bank), size=2)
        rng.bit_generator.state = state
        flow = planner.flow(rng)
        assert flow.shape == (10,) and flow.min() >= 0 and flow.max() < len(small_bank)
        d = np.linalg.norm(feats[flow] - feats[final], axis=1)
        ratios.append(d[-1] / max(d[0], 1e-9))
        # snapping: frame k is the bank pose nearest the state moved k times by α/n towards the final pose
        if metric == "l2":
            states = approach(feats[flow[0]], feats[final], 10, 1.2, 10)
            nearest = np.argmin(((feats[None] - states[1:, None]) ** 2).sum(-1), axis=1)
            assert np.allclose(feats[nearest], feats[flow[1:]])
    ratios = np.array(ratios)
    assert np.median(ratios) < 0.6  # (1 - 0.12)^9 = 0.32 without snapping noise
    assert np.mean(ratios < 1.0) > 0.9


def test_literal_eq6_snapping_the_state_stalls_on_a_sparse_bank(small_bank: PoseBank) -> None:
    """Why `snap_state` defaults to False: from a snapped pose, a 12 % step snaps back to the same pose."""
    planner = PoseFlowPlanner(small_bank, FlowOptions(frames=10, snap_state=True))
    rng = np.random.default_rng(1)
    stalled = [len(set(planner.flow(rng).tolist())) == 1 for _ in range(20)]
    assert np.mean(stalled) > 0.5


def test_camera_updates_follow_the_same_rule() -> None:
    xs = approach(np.array([0.0, 10.0]), np.array([1.0, 0.0]), 10, 1.2, 10)
    dist = np.linalg.norm(xs - [1.0, 0.0], axis=1)
    np.testing.assert_allclose(dist[1:] / dist[:-1], 0.88)
    start, end = Rotation.from_rotvec([0, 0, 0.1]), Rotation.from_rotvec([2.0, 0.5, 0.0])
    rots = Rotation.from_rotvec(rotation_approach(start, end, 10, 1.2, 10))
    angles = (rots.inv() * end).magnitude()
    np.testing.assert_allclose(angles[1:] / angles[:-1], 0.88, rtol=1e-6)


def test_bad_flow_options() -> None:
    with pytest.raises(ValueError, match="metric"):
        FlowOptions(metric="cosine")
    with pytest.raises(ValueError, match="frames"):
        FlowOptions(frames=0)
