"""train → export → eval through the `handstream` command, on a tiny CADSTN config and synthetic depth."""
from __future__ import annotations

import json
import math
from pathlib import Path

import onnxruntime as ort
import pytest

from app import cli

TINY = """
[model]
channels = [4, 8, 8]
fc = 32
lstm = 16
gate_channels = [4, 4, 4]
gate_fc = 8
crop_size = 32
[data]
sequences = 3
frames = 6
val_sequences = 1
sequence_length = 4
[train]
out_dir = "{out}"
batch_size = 8
steps_spatial = 3
steps_temporal = 3
steps_fusion = 3
log_every = 1
checkpoint_every = 2
threads = 1
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli_cadstn")
    config = root / "tiny.toml"
    config.write_text(TINY.format(out=root / "run"))
    assert cli.main(["train", "cadstn", "--config", str(config)]) == 0
    return root


def test_train_writes_all_three_stages_and_export_streams_them(trained, capsys) -> None:
    run = trained / "run"
    assert {p.name for p in run.glob("*.pt")} == {"spatial.pt", "temporal.pt", "fusion.pt"}
    onnx_path = trained / "tiny.onnx"
    assert cli.main(["export", "cadstn", "--ckpt", str(run / "fusion.pt"), "--out", str(onnx_path)]) == 0
    assert f"wrote {onnx_path}" in capsys.readouterr().out
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    assert session.get_modelmeta().custom_metadata_map["model"] == "cadstn"
    assert [i.name for i in session.get_inputs()] == ["depth", "h", "c"]


def test_eval_reports_the_ablation_for_a_checkpoint_and_the_fused_model_for_onnx(trained, capsys) -> None:
    onnx_path = trained / "eval.onnx"
    assert cli.main(["export", "cadstn", "--ckpt", str(trained / "run" / "fusion.pt"), "--out", str(onnx_path)]) == 0
    ckpt_json, onnx_json = trained / "ckpt.json", trained / "onnx.json"
    common = ["--sequences", "2", "--frames", "5", "--seed", "77"]
    assert cli.main(["eval", "--model", "cadstn", "--model-path", str(trained / "run" / "fusion.pt"), *common,
                     "--json", str(ckpt_json)]) == 0
    assert cli.main(["eval", "--model", "cadstn", "--model-path", str(onnx_path), *common,
                     "--json", str(onnx_json)]) == 0
    ckpt, onnx = json.loads(ckpt_json.read_text()), json.loads(onnx_json.read_text())
    assert set(ckpt) == {"spatial", "temporal", "fused"} and set(onnx) == {"fused"}
    assert ckpt["fused"]["frames"] == onnx["fused"]["frames"] == 10
    assert math.isfinite(onnx["fused"]["mean_mm"]) and onnx["fused"]["mean_mm"] > 0
    # the exported model streams the same network as the checkpoint: the same fused error
    assert onnx["fused"]["mean_mm"] == pytest.approx(ckpt["fused"]["mean_mm"], abs=1e-2)
    assert "fused:" in capsys.readouterr().out
    # --max-tilt draws other held-out hands (turned towards the camera): other frames, another error
    facing_json = trained / "facing.json"
    assert cli.main(["eval", "--model", "cadstn", "--model-path", str(onnx_path), *common, "--max-tilt", "20",
                     "--json", str(facing_json)]) == 0
    facing = json.loads(facing_json.read_text())
    assert facing["fused"]["frames"] == 10 and facing["fused"]["mean_mm"] != onnx["fused"]["mean_mm"]


def test_eval_and_export_errors_are_one_line(trained, tmp_path, capsys) -> None:
    missing = tmp_path / "none.onnx"
    assert cli.main(["eval", "--model", "cadstn", "--model-path", str(missing)]) == 2
    assert capsys.readouterr().err.strip() == f"handstream: error: cadstn model {missing} is missing " \
                                             "(train and export it, or pass --model-path)"
    assert cli.main(["eval", "--model", "seqhand", "--model-path", str(trained / "run" / "fusion.pt"),
                     "--data", "nyu"]) == 2
    assert "synthetic RGB sequences only" in capsys.readouterr().err
    assert cli.main(["export", "cadstn", "--out", str(tmp_path / "m.onnx")]) == 2
    assert "needs --ckpt" in capsys.readouterr().err
    assert cli.main(["train", "cadstn", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err
