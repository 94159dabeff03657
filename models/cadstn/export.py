"""CADSTN checkpoint → streaming ONNX model (the engine's contract).

Inputs `depth` (1, 1, M, M) crop in [−1, 1], for an RGB-D model `heatmaps` (1, 21, M, M) of the colour
detector's keypoints in the crop (zeros without colour), and LSTM state `h`, `c` (1, H); outputs `joints`
(1, K, 3) crop-normalised (mm = joints · cube/2 + centre, turned back for an `upright` model:
models.depth_crop.joints_to_camera_mm), `h_out`, `c_out`. The sliced volume is
computed inside the graph from `depth`, so the engine feeds only the crop. With `int8`, the weights
of the large fully connected layers of the spatial network, the temporal network's first FC and the
gate are stored as int8 (dynamic quantisation: they dominate the memory traffic per frame); the LSTM
and the output regressors stay fp32 because recurrent state drifts when quantised.
"""
from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

OPSET = 17
# not lstm, not out; `_1` names the second use of a layer (the auxiliary paths of a gate that mixes them)
QUANTISED_LAYERS = re.compile(r"/(h1_depth|h1_volume|h2_depth|h2_volume|fc)(_\d+)?/Gemm$")


def export_onnx(ckpt: Path, out: Path, int8: bool = False) -> Path:
    """A CADSTN checkpoint → the streaming model; a placer checkpoint → the placer's file (models/cadstn/placer.py)."""
    import torch

    from models.cadstn.checkpoint import load_model, read_checkpoint
    from models.cadstn.fusion import StreamingCadstn, StreamingRgbdCadstn
    from models.onnx_session import write_metadata

    out = Path(out)
    if out.suffix != ".onnx":
        raise ValueError(f"--out {out} must be a .onnx file")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"output folder {out.parent} does not exist")
    payload = read_checkpoint(Path(ckpt))
    if payload.get("stage") == "placer":
        if int8:
            raise ValueError("--int8 is for CADSTN's large layers; the placer is small enough in float")
        from models.cadstn.placer import export_placer

        return export_placer(Path(ckpt), out, payload)
    model, config, payload = load_model(Path(ckpt), payload)
    m = config.model
    depth = torch.zeros(1, 1, m.crop_size, m.crop_size)
    h = torch.zeros(1, m.lstm)
    if m.keypoints:
        stream = StreamingRgbdCadstn(model).eval()
        args = (depth, torch.zeros(1, m.in_channels - 1, m.crop_size, m.crop_size), h, h.clone())
        names = ["depth", "heatmaps", "h", "c"]
    else:
        stream, args, names = StreamingCadstn(model).eval(), (depth, h, h.clone()), ["depth", "h", "c"]
    fp32_path = out.with_name(out.stem + ".fp32.tmp.onnx") if int8 else out
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # dynamo=False is the contract's exporter
        torch.onnx.export(stream, args, str(fp32_path), dynamo=False, opset_version=OPSET,
                          input_names=names, output_names=["joints", "h_out", "c_out"])
    if m.keypoints:
        _skip_empty_heatmaps(fp32_path)
    if int8:
        _quantise(fp32_path, out)
        fp32_path.unlink()
    metadata = {
        "model": "cadstn",
        "cube_mm": f"{m.cube_mm:g}",
        "crop_size": str(m.crop_size),
        "joint_layout": m.joint_layout,
        "state_shape": json.dumps([1, m.lstm]),
        "slices": str(m.slices),
        "upright": str(m.upright).lower(),
        "axis": config.data.axis,  # what turned the upright training crops (models.cadstn.config.DataOptions)
        "keypoints": str(m.keypoints).lower(),
        "heatmap_sigma": f"{m.heatmap_sigma:g}",
        "gate": m.gate,
        "gate_aux": str(m.gate_aux).lower(),
        "int8": str(bool(int8)).lower(),
        "trained_steps": json.dumps(trained_steps(payload)),
    }
    write_metadata(out, metadata)
    return out


def trained_steps(payload: dict) -> dict[str, int]:
    """Each stage's steps, counting those of the exported model a run started from (`init_onnx`)."""
    before = payload.get("init", {}).get("steps", {})
    own = payload.get("steps", {})
    return {stage: int(before.get(stage, 0)) + int(own.get(stage, 0)) for stage in {**before, **own}}


def _skip_empty_heatmaps(path: Path) -> None:
    """Rewrite an RGB-D graph so a frame without keypoints skips their 21 empty channels: the first convs of
    the spatial and temporal towers read concat(depth, heatmaps); all-zero heatmaps add nothing to them, so an
    If node runs them on the depth channel alone (its weights' first input channel) when the heatmaps' peak is
    0. Same outputs, bit for bit; a depth-only frame's network run 2.6 → 1.85 ms (one thread, AVX-512)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    concat = next(n for n in graph.node if n.op_type == "Concat" and "heatmaps" in n.input)
    joined = concat.output[0]
    convs = [n for n in graph.node if n.op_type == "Conv" and joined in n.input]
    weights = {i.name: i for i in graph.initializer}
    branches: dict[str, tuple[list, list]] = {"keypoints": ([concat], []), "depth_only": ([], [])}  # nodes, outputs
    for conv in convs:
        w = numpy_helper.to_array(weights[conv.input[1]])
        graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(w[:, :1]), conv.input[1] + "_depth"))
        for branch, inputs in (("keypoints", [joined, *conv.input[1:]]),
                               ("depth_only", ["depth", conv.input[1] + "_depth", *conv.input[2:]])):
            node = helper.make_node("Conv", inputs, [f"{conv.output[0]}_{branch}"], name=f"{conv.name}_{branch}")
            node.attribute.extend(conv.attribute)
            branches[branch][0].append(node)
            branches[branch][1].append(helper.make_tensor_value_info(node.output[0], TensorProto.FLOAT, None))
    for node in graph.node:  # the rest (the volume's slice of the depth channel) reads the depth itself
        if joined in node.input and node.op_type != "Conv":
            node.input[list(node.input).index(joined)] = "depth"
    graph.initializer.append(numpy_helper.from_array(np.array(0.0, np.float32), "heatmaps_empty_peak"))
    switch = [helper.make_node("ReduceMax", ["heatmaps"], ["heatmaps_peak"], keepdims=0, name="heatmaps_peak"),
              helper.make_node("Greater", ["heatmaps_peak", "heatmaps_empty_peak"], ["has_keypoints"],
                               name="has_keypoints"),
              helper.make_node("If", ["has_keypoints"], [c.output[0] for c in convs], name="keypoints_or_depth_only",
                               then_branch=helper.make_graph(*_branch(branches, "keypoints")),
                               else_branch=helper.make_graph(*_branch(branches, "depth_only")))]
    at = list(graph.node).index(concat)
    for node in [concat, *convs]:
        graph.node.remove(node)
    for k, node in enumerate(switch):
        graph.node.insert(at + k, node)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _branch(branches: dict, name: str) -> tuple:
    """helper.make_graph's arguments for one branch of the If: its nodes, name, no inputs, its outputs."""
    nodes, outputs = branches[name]
    return nodes, name, [], outputs


def _quantise(src: Path, dst: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(src))
    chosen = [n.name for n in graph.graph.node if n.op_type == "Gemm" and QUANTISED_LAYERS.search(n.name)]
    if not chosen:
        raise ValueError(f"{src}: found none of the fully connected layers to quantise")
    chosen += [name + "_MatMul" for name in chosen]  # the quantiser first splits Gemm into MatMul + Add
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, nodes_to_quantize=chosen,
                     op_types_to_quantize=["Gemm", "MatMul"])

