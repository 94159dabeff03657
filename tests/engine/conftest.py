"""Tiny streaming ONNX models that follow the model contract, exported once per test session.

Why: the trained models may not exist, yet the engine must be tested with real ONNX Runtime
sessions whose recurrent state really changes the output. These models are small (a conv, a
ConvLSTM/LSTM cell, a linear head) with fixed seeds; their outputs are kept in plausible ranges
(weak-perspective scale about 5 crop units per metre, joints inside the cube).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

SEQHAND_SIZE = 32
SEQHAND_STATE = [1, 4, 4, 4]
CADSTN_STATE = [1, 16]


def _export(module, args, input_names, output_names, out: Path, metadata: dict[str, str]) -> Path:
    import onnx
    import torch

    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, args, str(out), input_names=input_names, output_names=output_names,
                          opset_version=17, dynamo=False)
    model = onnx.load(str(out))
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(out))
    return out


def build_tiny_seqhand(out: Path, seed: int = 0, hand_model: str = "handstream_hand_right.pkl") -> Path:
    """A ConvLSTM model: image (1,3,32,32) + h, c (1,4,4,4) → params (1,26), h_out, c_out."""
    import torch
    from torch import nn

    torch.manual_seed(seed)

    class TinySeqHand(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
            self.gates = nn.Conv2d(8, 16, 3, padding=1)
            self.head = nn.Linear(4, 26)

        def forward(self, image, h, c):
            x = nn.functional.avg_pool2d(torch.relu(self.conv(image * 4.0 - 2.0)), 4)
            i, f, g, o = self.gates(torch.cat([x, h], 1)).chunk(4, 1)
            c_out = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h_out = torch.sigmoid(o) * torch.tanh(c_out)
            p = self.head(h_out.mean(dim=(2, 3)))
            params = torch.cat([p[:, :20], 5.0 * torch.exp(0.1 * p[:, 20:21]), 0.1 * p[:, 21:23],
                                0.3 * p[:, 23:26]], 1)
            return params, h_out, c_out

    args = (torch.rand(1, 3, SEQHAND_SIZE, SEQHAND_SIZE), torch.zeros(SEQHAND_STATE), torch.zeros(SEQHAND_STATE))
    return _export(TinySeqHand(), args, ["image", "h", "c"], ["params", "h_out", "c_out"], out, {
        "model": "seqhand", "input_size": str(SEQHAND_SIZE), "state_shape": json.dumps(SEQHAND_STATE),
        "pose_pca": "10", "hand_model": hand_model})


def build_tiny_seqhand_perframe(out: Path, seed: int = 0) -> Path:
    """The per-frame baseline's contract: image → params, no recurrent state, ``state_shape`` []."""
    import torch
    from torch import nn

    torch.manual_seed(seed)

    class TinyPerFrame(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
            self.head = nn.Linear(4, 26)

        def forward(self, image):
            p = self.head(torch.relu(self.conv(image)).mean(dim=(2, 3)))
            return torch.cat([p[:, :20], 5.0 * torch.exp(0.1 * p[:, 20:21]), 0.1 * p[:, 21:]], 1)

    args = (torch.rand(1, 3, SEQHAND_SIZE, SEQHAND_SIZE),)
    return _export(TinyPerFrame(), args, ["image"], ["params"], out, {
        "model": "seqhand", "input_size": str(SEQHAND_SIZE), "state_shape": "[]", "pose_pca": "10",
        "hand_model": "handstream_hand_right.pkl"})


def build_tiny_cadstn(out: Path, seed: int = 0) -> Path:
    """An LSTM model: depth (1,1,128,128) + h, c (1,16) → joints (1,21,3) in [-0.6, 0.6], h_out, c_out."""
    import torch
    from torch import nn

    torch.manual_seed(seed)

    class TinyCadstn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cell = nn.LSTMCell(64, 16)
            self.head = nn.Linear(16 + 64, 63)

        def forward(self, depth, h, c):
            x = nn.functional.avg_pool2d(depth, 16).flatten(1)
            h_out, c_out = self.cell(x, (h, c))
            joints = 0.6 * torch.tanh(self.head(torch.cat([h_out, x], 1)))
            return joints.view(1, 21, 3), h_out, c_out

    args = (torch.rand(1, 1, 128, 128) * 2 - 1, torch.zeros(CADSTN_STATE), torch.zeros(CADSTN_STATE))
    return _export(TinyCadstn(), args, ["depth", "h", "c"], ["joints", "h_out", "c_out"], out, {
        "model": "cadstn", "cube_mm": "250", "crop_size": "128", "joint_layout": "hand21",
        "state_shape": json.dumps(CADSTN_STATE)})


def build_placer_finding(path: Path, offset_mm: float, crop_size: int = 64, upright: bool = True,
                         axis: str | None = "joints") -> Path:
    """A CADSTN placer file (`models.cadstn.placer`'s contract) that finds every hand `offset_mm` right of the crop's
    centre, in the crop's frame; made for crops of `crop_size`, `upright`, turned by `axis` (None: not said)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    joints = np.zeros((1, 21, 3), np.float32)
    joints[..., 0] = offset_mm / 125.0  # crop-normalised: the 250 mm cube's half
    nodes = [helper.make_node("ReduceMean", ["depth"], ["mean"], keepdims=0),
             helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
             helper.make_node("Add", ["found", "nothing"], ["joints"])]
    graph = helper.make_graph(nodes, "placer", [helper.make_tensor_value_info("depth", TensorProto.FLOAT,
                                                                              [1, 1, crop_size, crop_size])],
                              [helper.make_tensor_value_info("joints", TensorProto.FLOAT, [1, 21, 3])],
                              [numpy_helper.from_array(joints, "found"),
                               numpy_helper.from_array(np.array(0.0, np.float32), "zero")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    metadata = {"model": "cadstn_placer", "cube_mm": "250", "crop_size": str(crop_size),
                "upright": str(upright).lower(), **({"axis": axis} if axis is not None else {})}
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="session")
def tiny_seqhand(tmp_path_factory) -> Path:
    import torch

    torch.set_num_threads(1)
    return build_tiny_seqhand(tmp_path_factory.mktemp("models") / "tiny_seqhand.onnx")


@pytest.fixture(scope="session")
def tiny_cadstn(tmp_path_factory) -> Path:
    import torch

    torch.set_num_threads(1)
    return build_tiny_cadstn(tmp_path_factory.mktemp("models") / "tiny_cadstn.onnx")


def write_realsense_recording(path: Path, depth_mm, rgb=None, fx: float = 200.0, fy: float = 200.0,
                              fps: int = 30) -> Path:
    """Record frames into a real RealSense ``.db3`` with pyrealsense2's software device + recorder.

    ``depth_mm`` is a list of HxW uint16 arrays (depth units 1 mm); ``rgb`` an optional list of
    HxWx3 uint8 arrays of the same size. Both streams share the given pinhole intrinsics.
    """
    import time

    import numpy as np
    import pyrealsense2 as rs

    h, w = depth_mm[0].shape
    intr = rs.intrinsics()
    intr.width, intr.height, intr.fx, intr.fy = w, h, fx, fy
    intr.ppx, intr.ppy = (w - 1) / 2.0, (h - 1) / 2.0
    intr.model, intr.coeffs = rs.distortion.none, [0.0] * 5
    device = rs.software_device()
    streams = []
    for uid, (kind, fmt, bpp, frames) in enumerate(
            [(rs.stream.depth, rs.format.z16, 2, depth_mm), (rs.stream.color, rs.format.rgb8, 3, rgb)]):
        if frames is None:
            continue
        sensor = device.add_sensor("Depth" if kind == rs.stream.depth else "Color")
        vs = rs.video_stream()
        vs.type, vs.index, vs.uid, vs.width, vs.height = kind, 0, uid, w, h
        vs.fps, vs.bpp, vs.fmt, vs.intrinsics = fps, bpp, fmt, intr
        profile = sensor.add_video_stream(vs)
        if kind == rs.stream.depth:
            sensor.add_read_only_option(rs.option.depth_units, 0.001)
        streams.append((sensor, profile, bpp, frames, rs.frame_queue(len(frames) + 1)))
    recorder = rs.recorder(str(path), device)
    for sensor, profile, _, _, queue in streams:
        sensor.open(profile)
        sensor.start(queue)
    for i in range(len(depth_mm)):
        for sensor, profile, bpp, frames, _ in streams:
            f = rs.software_video_frame()
            f.pixels = np.ascontiguousarray(frames[i]).tobytes()
            f.stride, f.bpp = w * bpp, bpp
            f.timestamp, f.domain, f.frame_number = i * 1000.0 / fps, rs.timestamp_domain.hardware_clock, i
            f.profile = profile.as_video_stream_profile()
            sensor.on_video_frame(f)
        time.sleep(0.005)
    for sensor, *_ in streams:
        sensor.stop()
        sensor.close()
    del recorder
    return path


@pytest.fixture
def record_realsense():
    """The ``write_realsense_recording`` function (tests call it with their own frames)."""
    return write_realsense_recording


@pytest.fixture
def seqhand_builder():
    """``build_tiny_seqhand`` itself, for tests that need a variant (e.g. other metadata)."""
    return build_tiny_seqhand


@pytest.fixture(scope="session")
def demo_perframe_model(tmp_path_factory) -> Path:
    import torch

    torch.set_num_threads(1)
    return build_tiny_seqhand_perframe(tmp_path_factory.mktemp("models") / "tiny_perframe.onnx")
