"""Streaming ONNX export: frame-by-frame ONNX Runtime == the PyTorch sequence forward (image-only models and
keypoint-conditioned ones with their extra `heatmaps` input)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from models.heatmaps import keypoint_heatmaps
from models.onnx_session import open_session
from models.seqhand.checkpoint import save_checkpoint
from models.seqhand.config import ModelOptions
from models.seqhand.export import export_onnx
from models.seqhand.network import SeqHandNet

SIZE = 64


def _tiny_checkpoint(path: Path, temporal: str, head_skip: bool = False, keypoints: bool = False) -> SeqHandNet:
    torch.manual_seed(0)
    net = SeqHandNet(ModelOptions(backbone="resnet18", width=8, input_size=SIZE, temporal=temporal, hidden=16,
                                  head_skip=head_skip, keypoint_heatmaps=keypoints, heatmap_sigma=1.5))
    with torch.no_grad():  # non-trivial batch-norm statistics and head, so the check means something
        net.encoder.conv1.weight[:, 3:].normal_(0, 0.2)  # heatmap filters (if any) that matter
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
        net.head.weight.normal_(0, 0.08 / net.head.in_features ** 0.5)  # outputs of order 1
    save_checkpoint(path, net, hand_model="handstream_hand_right.pkl")
    return net.eval()


@pytest.mark.parametrize("temporal, head_skip, keypoints", [
    ("convlstm", False, False), ("convlstm", True, False), ("lstm", True, False), ("none", False, False),
    ("convlstm", True, True), ("none", False, True)])
def test_streaming_onnx_matches_sequence_forward(tmp_path: Path, temporal: str, head_skip: bool,
                                                 keypoints: bool) -> None:
    torch.set_num_threads(1)
    net = _tiny_checkpoint(tmp_path / "ck.pt", temporal, head_skip, keypoints)
    out = export_onnx(tmp_path / "ck.pt", tmp_path / "m.onnx")
    frames = torch.rand(1, 10, 3, SIZE, SIZE)
    rng = np.random.default_rng(0)
    heatmaps = torch.from_numpy(keypoint_heatmaps(rng.uniform(-0.7, 0.7, (1, 10, 21, 2)), SIZE, 1.5))
    with torch.no_grad():
        expected, _ = net(frames, heatmaps=heatmaps if keypoints else None)
    session = open_session(out, threads=1)
    meta = session.get_modelmeta().custom_metadata_map
    assert (meta["model"] == ("seqhand_kp" if keypoints else "seqhand") and meta["input_size"] == str(SIZE)
            and meta["pose_pca"] == "10")
    assert meta["hand_model"] == "handstream_hand_right.pkl"
    assert meta["keypoint_heatmaps"] == ("true" if keypoints else "false")
    assert ("heatmap_sigma" in meta) == keypoints and (not keypoints or float(meta["heatmap_sigma"]) == 1.5)
    state_shape = json.loads(meta["state_shape"])
    names = [i.name for i in session.get_inputs()]
    frame_inputs = ["image", "heatmaps"] if keypoints else ["image"]
    if keypoints:
        assert session.get_inputs()[1].shape == [1, 21, SIZE, SIZE]
    if temporal == "none":
        assert names == frame_inputs and state_shape == []
    else:
        assert names == [*frame_inputs, "h", "c"] and state_shape == list(session.get_inputs()[-1].shape)
        h = c = np.zeros(state_shape, np.float32)
    for t in range(10):
        feed = {"image": frames[:, t].numpy()}
        if keypoints:
            feed["heatmaps"] = heatmaps[:, t].numpy()
        if temporal != "none":
            feed.update(h=h, c=c)
        result = session.run(None, feed)
        np.testing.assert_allclose(result[0], expected[:, t].numpy(), atol=1e-4, rtol=0)
        if temporal != "none":
            _, h, c = result
    if temporal != "none":  # the state matters: a fresh state on the last frame gives another answer
        fresh = session.run(None, {**feed, "h": np.zeros_like(h), "c": np.zeros_like(c)})[0]
        assert np.abs(fresh - expected[:, 9].numpy()).max() > 1e-3
    if keypoints:  # and so do the heatmaps: other keypoints, another answer
        moved = session.run(None, {**feed, "heatmaps": np.roll(feed["heatmaps"], 5, axis=-1)})[0]
        assert np.abs(moved - result[0]).max() > 1e-3
    assert onnx.load(str(out)).opset_import[0].version >= 17


def test_int8_quantises_the_encoder_only(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    net = _tiny_checkpoint(tmp_path / "ck.pt", "convlstm")
    rng = np.random.default_rng(0)
    calib = [rng.random((1, 3, SIZE, SIZE), dtype=np.float32) for _ in range(4)]
    out = export_onnx(tmp_path / "ck.pt", tmp_path / "q.onnx", int8=True, calibration=calib)
    model = onnx.load(str(out))
    produced_by = {o: n for n in model.graph.node for o in n.output}
    def dequantised(name: str) -> bool:
        return name in produced_by and produced_by[name].op_type == "DequantizeLinear"

    quantised = {n.name for n in model.graph.node if n.op_type == "Conv" and any(map(dequantised, n.input))}
    assert quantised and all("encoder" in name for name in quantised)
    recurrent = [n for n in model.graph.node if "convlstm" in n.name and n.op_type == "Conv"]
    assert recurrent and not set(n.name for n in recurrent) & quantised
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["int8"] == "encoder"
    frame = torch.rand(1, 3, SIZE, SIZE)
    with torch.no_grad():
        expected, _ = net(frame[:, None])
    state = np.zeros(json.loads(meta["state_shape"]), np.float32)
    got = open_session(out, threads=1).run(None, {"image": frame.numpy(), "h": state, "c": state})[0]
    assert np.abs(got - expected[:, 0].numpy()).max() < 0.25 * np.abs(expected.numpy()).max()


def test_bad_output_path_and_checkpoint(tmp_path: Path) -> None:
    _tiny_checkpoint(tmp_path / "ck.pt", "none")
    with pytest.raises(ValueError, match="must end in .onnx"):
        export_onnx(tmp_path / "ck.pt", tmp_path / "m.bin")
    with pytest.raises(FileNotFoundError, match="output folder"):
        export_onnx(tmp_path / "ck.pt", tmp_path / "missing" / "m.onnx")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt is not a readable SeqHAND-Net checkpoint"):
        export_onnx(tmp_path / "junk.pt", tmp_path / "m.onnx")
