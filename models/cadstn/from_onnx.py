"""A trainable CADSTN rebuilt from an exported ONNX file, so training can go on from a shipped model.

Training checkpoints (`runs/`) are not shipped; the ONNX files are. Export folds each BatchNorm into the conv before
it, so those convs come back folded, and each BatchNorm is rebuilt around them: its running statistics are
measured on training crops and its scale and shift undo them. In eval mode the network then computes what the
file computes (checked on the crops against ONNX Runtime before it is returned); in training mode, with batch
statistics close to the measured ones, nearly so, and BatchNorm trains on as it did before export.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.cadstn.config import ModelOptions
from models.cadstn.fusion import Cadstn

FOLDED_CONV = re.compile(r"onnx::Conv_(\d+)$")  # the exporter's name for a conv with a BatchNorm folded in
AGREEMENT = 1e-3  # largest joint difference (crop units, ±1 = half the cube) allowed against ONNX Runtime


def _check_options(path: Path, meta: dict[str, str], options: ModelOptions) -> None:
    """The config's network must be the file's; say the first difference in one line."""
    expected = {"model": "cadstn", "cube_mm": f"{options.cube_mm:g}", "crop_size": str(options.crop_size),
                "joint_layout": options.joint_layout, "state_shape": json.dumps([1, options.lstm]),
                "slices": str(options.slices), "upright": str(options.upright).lower(),
                "keypoints": str(options.keypoints).lower(), "gate": options.gate,
                "gate_aux": str(options.gate_aux).lower(), "int8": "false"}
    for key, value in expected.items():
        if meta.get(key) != value:
            raise ValueError(f"{path}: {key} is {meta.get(key)!r} in the file but {value!r} in the config; "
                             "training can only go on from the same network (int8 files cannot be trained)")


def _initializers(path: Path) -> dict[str, np.ndarray]:
    import onnx
    from onnx import numpy_helper

    return {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}


def _folded_convs(model: Cadstn) -> list[tuple[nn.Conv2d, nn.BatchNorm2d]]:
    """Each conv followed by a BatchNorm, in module order (the order the exporter made their folded weights)."""
    pairs = []
    for module in model.modules():
        if isinstance(module, nn.Sequential):
            layers = list(module)
            pairs += [(a, b) for a, b in zip(layers, layers[1:])
                      if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d)]
    return pairs


def load_onnx_weights(model: Cadstn, path: Path) -> list[tuple[nn.BatchNorm2d, torch.Tensor]]:
    """Put the file's weights into `model`; → each BatchNorm with its folded bias, still to be rebuilt.

    Named weights load by name. Layers the file lacks (the spatial network's auxiliary heads when the gate does
    not mix them) start as copies of the spatial output layer, which maps the same features to the same joints."""
    weights = _initializers(path)
    state = model.state_dict()
    # `…_depth`: the first convs' depth channel, copied for the graph's depth-only branch (export._skip_empty_heatmaps)
    named = {k[len("model."):]: v for k, v in weights.items() if k.startswith("model.") and not k.endswith("_depth")}
    unknown = sorted(set(named) - set(state))
    if unknown:
        raise ValueError(f"{path}: weights {unknown[:3]} are not in the config's network")
    folded = sorted((int(m.group(1)), k) for k in weights if (m := FOLDED_CONV.match(k)))
    pairs = _folded_convs(model)
    if len(folded) != 2 * len(pairs):
        raise ValueError(f"{path}: {len(folded) // 2} folded convs in the file, {len(pairs)} in the config's network")
    with torch.no_grad():
        for key, value in named.items():
            if state[key].shape != value.shape:
                raise ValueError(f"{path}: {key} is {value.shape} in the file, {tuple(state[key].shape)} in the config")
            state[key].copy_(torch.from_numpy(np.array(value)))
        for aux in ("aux_out_depth", "aux_out_volume"):
            for p in ("weight", "bias"):
                if f"spatial.{aux}.{p}" not in named:
                    state[f"spatial.{aux}.{p}"].copy_(state[f"spatial.out.{p}"])
        rebuilt = []
        for (conv, norm), ((_, w_name), (_, b_name)) in zip(pairs, zip(folded[::2], folded[1::2])):
            w, b = torch.from_numpy(np.array(weights[w_name])), torch.from_numpy(np.array(weights[b_name]))
            if conv.weight.shape != w.shape or b.shape != (conv.out_channels,):
                raise ValueError(f"{path}: folded conv {w_name} is {tuple(w.shape)}, the config's "
                                 f"{tuple(conv.weight.shape)}")
            conv.weight.copy_(w)
            norm.running_mean.zero_()
            norm.running_var.fill_(1.0 - norm.eps)  # with weight 1: the identity, plus the folded bias
            norm.weight.fill_(1.0)
            norm.bias.copy_(b)
            rebuilt.append((norm, b))
    return rebuilt


def _measure_statistics(model: Cadstn, rebuilt: list[tuple[nn.BatchNorm2d, torch.Tensor]],
                        crops: torch.Tensor) -> None:
    """Set each BatchNorm's running statistics to those of its input over `crops` (eval mode, the file's
    network) and its scale and shift so that it still adds only the folded bias."""
    sums: dict[nn.BatchNorm2d, list] = {norm: [0.0, 0.0, 0] for norm, _ in rebuilt}

    def record(norm, inputs, _output):
        x = inputs[0].detach().double().transpose(0, 1).flatten(1)
        s = sums[norm]
        s[0], s[1], s[2] = s[0] + x.sum(1), s[1] + (x * x).sum(1), s[2] + x.shape[1]

    hooks = [norm.register_forward_hook(record) for norm, _ in rebuilt]
    try:
        with torch.no_grad():
            model.eval()
            for chunk in crops.split(64):
                model.spatial(chunk)
                model.temporal.tower(chunk)
    finally:
        for hook in hooks:
            hook.remove()
    with torch.no_grad():
        for norm, bias in rebuilt:
            total, squares, count = sums[norm]
            mean = total / count
            var = (squares / count - mean * mean).clamp_min(0.0) * count / max(count - 1, 1)
            norm.running_mean.copy_(mean.float())
            norm.running_var.copy_(var.float())
            norm.weight.copy_(torch.sqrt(var + norm.eps).float())
            norm.bias.copy_((mean + bias.double()).float())


def _check_agreement(model: Cadstn, session, path: Path, crops: torch.Tensor) -> float:
    """The rebuilt network against ONNX Runtime's `session` of the file, a short stream of `crops` from zero
    state; → the largest joint difference. Raises when it is not the same network."""
    names = {i.name for i in session.get_inputs()}
    n = model.options.lstm
    h, c = np.zeros((1, n), np.float32), np.zeros((1, n), np.float32)
    state = model.temporal.zero_state(1)
    worst = 0.0
    model.eval()
    with torch.no_grad():
        for crop in crops[:8]:
            feed = {"depth": crop[None, :1].numpy(), "h": h, "c": c}
            if "heatmaps" in names:
                feed["heatmaps"] = crop[None, 1:].numpy()
            joints, h, c = session.run(["joints", "h_out", "c_out"], feed)
            out, state = model.step(crop[None], state)
            worst = max(worst, float(np.abs(out.fused[0, 0].numpy() - joints[0]).max()))
    if not worst <= AGREEMENT:
        raise ValueError(f"{path}: the rebuilt network's joints differ from ONNX Runtime's by {worst:.2g} "
                         f"(allowed {AGREEMENT:g}); the file's layers do not map onto the config's network")
    return worst


def model_from_onnx(path: Path | str, options: ModelOptions, crops: np.ndarray) -> tuple[Cadstn, dict[str, int]]:
    """→ the file's network as a trainable `Cadstn` (eval mode) and the steps it was trained for.

    `crops` (N, C, M, M): training inputs (depth, then the heatmap channels of an RGB-D model) on which the
    BatchNorm statistics are measured; a few hundred are plenty."""
    from models.onnx_session import open_session

    path = Path(path)
    session = open_session(path, threads=1)  # says so when the file is missing
    meta = dict(session.get_modelmeta().custom_metadata_map)
    _check_options(path, meta, options)
    model = Cadstn(options)
    batch = torch.from_numpy(np.ascontiguousarray(crops, dtype=np.float32))
    rebuilt = load_onnx_weights(model, path)
    _measure_statistics(model, rebuilt, batch)
    _check_agreement(model, session, path, batch)
    return model, {k: int(v) for k, v in json.loads(meta.get("trained_steps", "{}")).items()}
