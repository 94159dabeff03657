"""The lifter network: rotation conversions, and one streaming step at a time equals the sequence forward."""
from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from models.lifter.network import NUM_PARAMS, LifterNet, LifterOptions, matrix_to_rotvec, rot6d_to_matrix


def test_matrix_to_rotvec_matches_scipy_everywhere_including_half_turns() -> None:
    rots = Rotation.concatenate([Rotation.random(500, random_state=0),
                                 Rotation.from_rotvec([[np.pi - 1e-4, 0, 0], [0, 0, 1e-7], [0.5, -2.9, 0.3]])])
    got = matrix_to_rotvec(torch.tensor(rots.as_matrix())).numpy()
    # compare as rotations: a half turn about n equals one about -n
    diff = (Rotation.from_rotvec(got) * rots.inv()).magnitude()
    assert diff.max() < 1e-6
    assert np.abs(np.linalg.norm(got, axis=1) - rots.magnitude()).max() < 1e-6


def test_rot6d_gives_proper_rotations() -> None:
    m = rot6d_to_matrix(torch.randn(100, 6, dtype=torch.float64))
    np.testing.assert_allclose((m.transpose(-1, -2) @ m).numpy(), np.broadcast_to(np.eye(3), (100, 3, 3)), atol=1e-9)
    np.testing.assert_allclose(torch.linalg.det(m).numpy(), 1.0, atol=1e-9)


def test_fresh_network_predicts_flat_hand_identity_rotation_and_typical_scale() -> None:
    net = LifterNet(LifterOptions(width=16, hidden=8, scale_init=8.0))
    params, rotation, _ = net(torch.randn(2, 3, 126))
    assert params.shape == (2, 3, NUM_PARAMS)
    np.testing.assert_allclose(params[..., :55].detach().numpy(), 0.0, atol=1e-6)
    np.testing.assert_allclose(params[..., 55].detach().numpy(), 8.0, rtol=1e-5)
    np.testing.assert_allclose(rotation.detach().numpy(), np.broadcast_to(np.eye(3), (2, 3, 3, 3)), atol=1e-6)


def test_step_by_step_equals_sequence_forward() -> None:
    torch.manual_seed(0)
    net = LifterNet(LifterOptions(width=16, hidden=8)).eval()
    for p in net.head[-1].parameters():
        torch.nn.init.normal_(p, 0, 0.1)  # a head that says something
    x = torch.randn(1, 6, 126)
    whole, _, _ = net(x)
    state = net.initial_state(1)
    steps = []
    for t in range(6):
        out, state = net.step(x[:, t], state)
        steps.append(out)
    np.testing.assert_allclose(torch.stack(steps, 1).detach().numpy(), whole.detach().numpy(), atol=1e-5)
