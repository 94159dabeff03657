"""Streaming ONNX export of SeqHAND-Net: one frame and the recurrent state in, parameters and the new
state out (the engine keeps the state per hand track; zeros start a fresh track).

Graph contract (engine side): inputs `image` (1,3,S,S) RGB in [0,1], `h`, `c` (shape in metadata
`state_shape`); outputs `params` (1,26) = [theta PCA 10, beta 10, s, tx, ty, rx, ry, rz], `h_out`,
`c_out`. The per-frame baseline (`temporal = "none"`) has only `image` -> `params` and
`state_shape = []`. A keypoint-conditioned model (metadata `keypoint_heatmaps = "true"`, otherwise "false")
also takes `heatmaps` (1,21,S,S) right after `image`: `models.heatmaps.keypoint_heatmaps` of the
landmarks in crop coordinates with the metadata's `heatmap_sigma` (crop pixels). Optional int8 (image-only
models): QDQ quantisation of the encoder's convolutions only — quantising the recurrent layer makes its
state drift over a sequence.
"""
from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.onnx_session import write_metadata
from models.seqhand.checkpoint import load_checkpoint
from models.seqhand.network import POSE_PCA, SeqHandNet

OPSET = 17


class _StreamingStep(nn.Module):
    def __init__(self, net: SeqHandNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        params, (h_out, c_out) = self.net.step(image, (h, c))
        return params, h_out, c_out


class _StreamingKeypointStep(nn.Module):
    def __init__(self, net: SeqHandNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor, heatmaps: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        params, (h_out, c_out) = self.net.step(image, (h, c), heatmaps)
        return params, h_out, c_out


class _PerFrameStep(nn.Module):
    def __init__(self, net: SeqHandNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor, heatmaps: torch.Tensor | None = None) -> torch.Tensor:
        params, _ = self.net.step(image, self.net.initial_state(1), heatmaps)
        return params


def export_onnx(
    ckpt: Path, out: Path, int8: bool = False, calibration: Iterable[np.ndarray] | None = None
) -> Path:
    """Checkpoint -> streaming ONNX file at `out` (opset 17). With `int8`, `calibration` yields
    (1,3,S,S) float32 images for the activation ranges (default: synthetic frames, seed 12345)."""
    out = Path(out)
    if out.suffix != ".onnx":
        raise ValueError(f"--out {out} must end in .onnx")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"output folder {out.parent} does not exist")
    net, saved = load_checkpoint(ckpt)
    size = net.options.input_size
    keypoints = net.options.keypoint_heatmaps
    if keypoints and int8:
        raise ValueError("int8 export of a keypoint_heatmaps model is not supported yet: its calibration "
                         "would need heatmaps; export it in float32")
    image = torch.rand(1, 3, size, size)
    frame_inputs, frame_args = ["image"], (image,)
    if keypoints:
        frame_inputs, frame_args = ["image", "heatmaps"], (image, torch.rand(1, net.heatmap_channels, size, size))
    if net.state_shape:
        h, c = net.initial_state(1)
        module = _StreamingKeypointStep(net) if keypoints else _StreamingStep(net)
        args = (*frame_args, h, c)
        inputs, outputs = [*frame_inputs, "h", "c"], ["params", "h_out", "c_out"]
    else:
        module, args = _PerFrameStep(net), frame_args
        inputs, outputs = frame_inputs, ["params"]
    metadata = {
        "model": "seqhand_kp" if keypoints else "seqhand",  # the engine's kind: what the file needs per frame
        "input_size": str(size),
        "state_shape": json.dumps(list(net.state_shape)),
        "pose_pca": str(POSE_PCA),
        "hand_model": saved.get("hand_model", ""),
        "temporal": net.options.temporal,
        "backbone": net.options.backbone,
        "int8": "encoder" if int8 else "none",
        "keypoint_heatmaps": "true" if keypoints else "false",
    }
    if keypoints:
        metadata["heatmap_sigma"] = repr(float(net.options.heatmap_sigma))
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx" if int8 else out
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # dynamo=False is the contract's choice
            torch.onnx.export(module, args, str(fp32), input_names=inputs, output_names=outputs,
                              opset_version=OPSET, dynamo=False)
        if int8:
            _quantize_encoder(fp32, out, inputs, size, calibration)
    write_metadata(out, metadata)
    return out


def _quantize_encoder(
    src: Path, dst: Path, inputs: list[str], size: int, calibration: Iterable[np.ndarray] | None
) -> None:
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    model = onnx.load(str(src))
    encoder_nodes = [n.name for n in model.graph.node if n.name.startswith(("/encoder/", "/net/encoder/"))]
    state_shapes = {
        i.name: [d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input if i.name != "image"
    }
    images = list(calibration) if calibration is not None else _synthetic_calibration(size)
    if not images:
        raise ValueError("int8 export needs at least one calibration image")

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(images)

        def get_next(self):
            img = next(self._it, None)
            if img is None:
                return None
            feed = {"image": np.asarray(img, np.float32).reshape(1, 3, size, size)}
            feed.update({k: np.zeros(s, np.float32) for k, s in state_shapes.items()})
            return feed

    quantize_static(str(src), str(dst), Reader(), quant_format=QuantFormat.QDQ, nodes_to_quantize=encoder_nodes,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


def _synthetic_calibration(size: int, count: int = 32) -> list[np.ndarray]:
    from models.seqhand.synthetic import synthetic_frames

    return [f.transpose(2, 0, 1)[None].astype(np.float32) / 255.0 for f in synthetic_frames(size, count, seed=12345)]
