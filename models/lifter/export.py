"""Streaming ONNX export of the lifter: one frame's features and the LSTM state in, parameters and the new
state out (the engine keeps the state per hand track; zeros start a fresh one).

Graph contract (engine side, `engine/estimators`): inputs `features` (1, 126) from
`models.lifter.features.landmark_features`, `h`, `c` (metadata `state_shape`); outputs `params` (1, 61) =
[θ 45 axis-angle, β 10, s, tx, ty, rx, ry, rz] in the landmark box's coordinates, `h_out`, `c_out`.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch import nn

from models.lifter.features import BOX_MARGIN, NUM_FEATURES
from models.lifter.network import LifterNet
from models.lifter.train import load_checkpoint
from models.onnx_session import write_metadata

OPSET = 17


class _StreamingStep(nn.Module):
    def __init__(self, net: LifterNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, features: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        params, (h_out, c_out) = self.net.step(features, (h, c))
        return params, h_out, c_out


def export_onnx(ckpt: Path, out: Path) -> Path:
    """Checkpoint -> streaming ONNX file at ``out`` (opset 17)."""
    out = Path(out)
    if out.suffix != ".onnx":
        raise ValueError(f"--out {out} must end in .onnx")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"output folder {out.parent} does not exist")
    net, saved = load_checkpoint(ckpt)
    h, c = net.initial_state(1)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dynamo=False is the contract's choice; LSTM batch-first notes
        torch.onnx.export(_StreamingStep(net), (torch.zeros(1, NUM_FEATURES), h, c), str(out),
                          input_names=["features", "h", "c"], output_names=["params", "h_out", "c_out"],
                          opset_version=OPSET, dynamo=False)
    write_metadata(out, {
        "model": "lifter",
        "state_shape": json.dumps(list(net.state_shape)),
        "pose_dims": "45",
        "box_margin": f"{BOX_MARGIN:g}",
        "hand_model": saved.get("hand_model", ""),
        "trained_steps": str(saved.get("step", 0)),
    })
    return out
