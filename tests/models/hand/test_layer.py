"""The torch hand layer: smplx.MANO plus fingertips in the 21-keypoint order, equal to the numpy model."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("smplx")

from models.hand.layer import HandLayer, smplx_accepts  # noqa: E402
from models.hand.model import OPEN_MODEL_PATH, load_hand_model  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("pose_dim", [10, 45])
def test_layer_equals_numpy_model(side, pose_dim):
    layer = HandLayer(side=side)
    model = load_hand_model(side=side)
    rng = np.random.default_rng(4)
    pose = rng.normal(size=(3, pose_dim)) * (1.0 if pose_dim == 10 else 0.4)
    betas, glob = rng.normal(size=(3, 10)), rng.normal(size=(3, 3))
    t = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    verts, joints = layer(t(pose), t(betas), t(glob))
    ref = model.forward(pose, betas, glob)
    assert verts.shape == (3, model.num_vertices, 3) and joints.shape == (3, 21, 3)
    np.testing.assert_allclose(verts.detach().numpy(), ref.vertices, atol=1e-5)
    np.testing.assert_allclose(joints.detach().numpy(), ref.joints, atol=1e-5)
    np.testing.assert_array_equal(layer.faces, model.faces)


def test_layer_is_differentiable():
    layer = HandLayer()
    pose = torch.zeros(2, 10, requires_grad=True)
    betas = torch.zeros(2, 10, requires_grad=True)
    _, joints = layer(pose, betas, torch.zeros(2, 3))
    # Fingertip spread: depends on pose and shape, so both must receive gradients.
    loss = (joints[:, 4] - joints[:, 20]).norm(dim=-1).sum()
    loss.backward()
    assert torch.isfinite(pose.grad).all() and pose.grad.abs().sum() > 0
    assert torch.isfinite(betas.grad).all() and betas.grad.abs().sum() > 0


def test_smplx_loads_the_shipped_file_unchanged():
    assert smplx_accepts(OPEN_MODEL_PATH)
