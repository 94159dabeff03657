"""Network behaviour: shapes, auxiliary paths, LSTM state carried and reset, the fusion rule."""
from __future__ import annotations

import pytest
import torch

from models.cadstn.fusion import Cadstn
from models.cadstn.spatial import SpatialNet
from tests.models.cadstn.conftest import hand_like_crops, tiny_options


def _seq(b=2, t=5, seed=0):
    return torch.from_numpy(hand_like_crops((b, t, 1, 32, 32), seed))


def test_spatial_aux_paths_only_when_asked():
    net = SpatialNet(tiny_options()).eval()
    depth = _seq()[:, 0]
    plain = net(depth)
    assert plain.joints.shape == (2, 21, 3) and plain.aux_depth is None
    both = net(depth, aux=True)
    assert both.aux_depth.shape == both.aux_volume.shape == (2, 21, 3)
    torch.testing.assert_close(both.joints, plain.joints)  # aux paths do not change the main output


def test_lstm_state_is_carried_and_reset():
    torch.manual_seed(0)
    model = Cadstn(tiny_options()).eval()
    seq = _seq(b=1, t=6)
    with torch.no_grad():
        full, _ = model(seq)
        first, state = model(seq[:, :3])
        rest, _ = model(seq[:, 3:], state)  # carrying the state continues the sequence exactly
        fresh, _ = model(seq[:, 3:])  # a fresh state forgets the first frames
    torch.testing.assert_close(torch.cat([first.temporal, rest.temporal], 1), full.temporal)
    assert not torch.allclose(fresh.temporal[:, 0], full.temporal[:, 3], atol=1e-6)
    # the spatial network has no memory
    torch.testing.assert_close(fresh.spatial, full.spatial[:, 3:])


@pytest.mark.parametrize("gate", ["tower", "shared"])
def test_fused_joints_are_the_gated_mix(gate):
    torch.manual_seed(1)
    model = Cadstn(tiny_options(gate=gate)).eval()
    with torch.no_grad():
        out, _ = model(_seq())
    assert ((out.weight > 0) & (out.weight < 1)).all()
    torch.testing.assert_close(out.fused, out.weight * out.temporal + (1 - out.weight) * out.spatial)
    lo = torch.minimum(out.temporal, out.spatial) - 1e-6
    hi = torch.maximum(out.temporal, out.spatial) + 1e-6
    assert ((out.fused >= lo) & (out.fused <= hi)).all()


@pytest.mark.parametrize("gate", ["tower", "shared"])
def test_gate_with_the_auxiliary_predictions_mixes_four_predictors(gate):
    torch.manual_seed(2)
    model = Cadstn(tiny_options(gate=gate, gate_aux=True)).eval()
    depth = _seq()
    with torch.no_grad():
        out, _ = model(depth)
        b, t = depth.shape[:2]
        spa = model.spatial(depth.flatten(0, 1), aux=True)
        temp, features, _ = model.temporal(depth)
        w = model.gate(depth.flatten(0, 1), spa.feature, features.flatten(0, 1))
    assert w.shape == (b * t, 4, 21, 3)
    torch.testing.assert_close(w.sum(1), torch.ones(b * t, 21, 3))
    assert ((w > 0) & (w < 1)).all()
    parts = torch.stack([temp.flatten(0, 1), spa.joints, spa.aux_depth, spa.aux_volume], 1)
    torch.testing.assert_close(out.fused.flatten(0, 1), (w * parts).sum(1))
    torch.testing.assert_close(out.weight.flatten(0, 1), w[:, 0])  # the temporal prediction's share
    assert not torch.allclose(out.fused, out.weight * out.temporal + (1 - out.weight) * out.spatial)
