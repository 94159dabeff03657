"""Streaming ONNX export: ONNX Runtime frame by frame == PyTorch sequence forward within 1e-4."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from models.cadstn.checkpoint import save_checkpoint
from models.cadstn.export import export_onnx
from models.cadstn.fusion import Cadstn
from models.onnx_session import open_session
from tests.models.cadstn.conftest import hand_like_crops, tiny_config


def _stream(session, seq, lstm):
    h = np.zeros((1, lstm), np.float32)
    c = np.zeros((1, lstm), np.float32)
    out = []
    for frame in seq:
        joints, h, c = session.run(["joints", "h_out", "c_out"], {"depth": frame[None], "h": h, "c": c})
        out.append(joints[0])
    return np.stack(out)


@pytest.fixture(scope="module", params=["paper", "deep", "deep_aux"])
def checkpoint(tmp_path_factory, request):
    """The paper's towers, and deeper ones with BatchNorm whose statistics are not the identity (also with
    a shared gate that mixes the auxiliary predictions too, `gate_aux`)."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    deep = request.param != "paper"
    aux = dict(gate="shared", gate_aux=True) if request.param == "deep_aux" else {}
    config = tiny_config(convs_per_stage=2, batch_norm=True, **aux) if deep else tiny_config()
    model = Cadstn(config.model)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(norms) == (18 if deep else 0)  # 2 convs × 3 stages × the depth, volume and temporal towers
    for norm in norms:
        norm.running_mean.uniform_(-0.2, 0.2)
        norm.running_var.uniform_(0.5, 2.0)
        norm.weight.data.uniform_(0.5, 1.5)
        norm.bias.data.uniform_(-0.1, 0.1)
    path = tmp_path_factory.mktemp("cadstn") / "fusion.pt"
    save_checkpoint(path, {"config": config.to_dict(), "model": model.state_dict(), "steps": {"fusion": 0}})
    return path, model.eval(), config


def test_streaming_onnx_matches_pytorch_sequence(checkpoint, tmp_path):
    path, model, config = checkpoint
    onnx_path = export_onnx(path, tmp_path / "cadstn.onnx")
    session = open_session(onnx_path, threads=1)
    assert [i.name for i in session.get_inputs()] == ["depth", "h", "c"]  # volume is computed in the graph
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["model"] == "cadstn" and meta["joint_layout"] == "hand21"
    assert float(meta["cube_mm"]) == 250.0 and int(meta["crop_size"]) == 32
    assert json.loads(meta["state_shape"]) == [1, config.model.lstm]
    seq = hand_like_crops((10, 1, 32, 32), seed=5)
    with torch.no_grad():
        expected, _ = model(torch.from_numpy(seq)[None])
    got = _stream(session, seq, config.model.lstm)
    np.testing.assert_allclose(got, expected.fused[0].numpy(), atol=1e-4, rtol=0)
    assert "BatchNormalization" not in {n.op_type for n in onnx.load(str(onnx_path)).graph.node}  # folded
    # resetting the state (zeros) reproduces the sequence's first frame, not the tenth
    again = _stream(session, seq[9:], config.model.lstm)
    assert not np.allclose(again[0], got[9], atol=1e-5)


def test_int8_export_quantises_the_fc_layers_and_stays_close(checkpoint, tmp_path):
    path, model, config = checkpoint
    onnx_path = export_onnx(path, tmp_path / "cadstn_int8.onnx", int8=True)
    graph = onnx.load(str(onnx_path))
    ops = [n.op_type for n in graph.graph.node]
    m = config.model
    # h1/h2 of both branches (again for the auxiliary paths), the temporal fc, the gate tower's fc
    assert ops.count("MatMulInteger") == 4 * (2 if m.gate_aux else 1) + 1 + (m.gate == "tower")
    assert not (tmp_path / "cadstn_int8.fp32.tmp.onnx").exists()
    seq = hand_like_crops((4, 1, 32, 32), seed=6)
    with torch.no_grad():
        expected, _ = model(torch.from_numpy(seq)[None])
    got = _stream(open_session(onnx_path, threads=1), seq, config.model.lstm)
    assert np.abs(got - expected.fused[0].numpy()).max() < 0.05


def test_export_rejects_bad_paths(checkpoint, tmp_path):
    path, _, _ = checkpoint
    with pytest.raises(ValueError, match="must be a .onnx"):
        export_onnx(path, tmp_path / "model.txt")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export_onnx(tmp_path / "missing.pt", tmp_path / "m.onnx")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable CADSTN checkpoint"):
        export_onnx(junk, tmp_path / "m.onnx")


@pytest.fixture(scope="module")
def rgbd_checkpoint(tmp_path_factory):
    """An RGB-D model: upright crops plus 21 keypoint heatmaps beside the depth."""
    torch.manual_seed(1)
    config = tiny_config(keypoints=True, upright=True, gate="shared")
    model = Cadstn(config.model)
    path = tmp_path_factory.mktemp("cadstn_rgbd") / "fusion.pt"
    save_checkpoint(path, {"config": config.to_dict(), "model": model.state_dict(), "steps": {"fusion": 0}})
    return path, model.eval(), config


def test_rgbd_export_takes_heatmaps_beside_the_depth(rgbd_checkpoint, tmp_path):
    from models.cadstn.keypoints import KeypointInputs

    path, model, config = rgbd_checkpoint
    session = open_session(export_onnx(path, tmp_path / "rgbd.onnx"), threads=1)
    assert [i.name for i in session.get_inputs()] == ["depth", "heatmaps", "h", "c"]
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["keypoints"] == "true" and float(meta["heatmap_sigma"]) == config.model.heatmap_sigma
    rng = np.random.default_rng(3)
    crops = hand_like_crops((1, 6, 1, 32, 32), seed=7)
    seq = KeypointInputs(32, dropout=0.0)(rng, crops, rng.uniform(-0.6, 0.6, (1, 6, 21, 2)))[0]
    with torch.no_grad():
        expected, _ = model(torch.from_numpy(seq)[None])
    h = c = np.zeros((1, config.model.lstm), np.float32)
    got, blind = [], []
    for frame in seq:
        joints, h, c = session.run(None, {"depth": frame[None, :1], "heatmaps": frame[None, 1:], "h": h, "c": c})
        got.append(joints[0])
        blind.append(session.run(None, {"depth": frame[None, :1], "heatmaps": np.zeros_like(frame[None, 1:]),
                                        "h": np.zeros_like(h), "c": np.zeros_like(c)})[0][0])
    np.testing.assert_allclose(np.stack(got), expected.fused[0].numpy(), atol=1e-4, rtol=0)
    assert not np.allclose(got[0], blind[0], atol=1e-5)  # the heatmaps reach the output


def test_rgbd_export_skips_empty_heatmaps_with_the_same_joints(rgbd_checkpoint, tmp_path):
    """Depth-only frames (no colour) take the If branch that convolves the depth channel alone: the joints must
    be the torch model's with all-zero heatmaps, over a streamed sequence."""
    import onnx

    path, model, config = rgbd_checkpoint
    out = export_onnx(path, tmp_path / "rgbd.onnx")
    graph = onnx.load(str(out)).graph
    (switch,) = [n for n in graph.node if n.op_type == "If"]
    depth_only = next(a.g for a in switch.attribute if a.name == "else_branch")
    assert {n.op_type for n in depth_only.node} == {"Conv"} and all("heatmaps" not in n.input for n in depth_only.node)
    session = open_session(out, threads=1)
    crops = hand_like_crops((1, 6, 1, 32, 32), seed=8)
    seq = np.concatenate([crops, np.zeros((1, 6, 21, 32, 32), np.float32)], axis=2)[0]
    with torch.no_grad():
        expected, _ = model(torch.from_numpy(seq)[None])
    h = c = np.zeros((1, config.model.lstm), np.float32)
    got = []
    for frame in seq:
        joints, h, c = session.run(None, {"depth": frame[None, :1], "heatmaps": frame[None, 1:], "h": h, "c": c})
        got.append(joints[0])
    np.testing.assert_allclose(np.stack(got), expected.fused[0].numpy(), atol=1e-4, rtol=0)
