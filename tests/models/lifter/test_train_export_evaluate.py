"""Training learns, the streaming ONNX file computes what the checkpoint does, evaluation reports it."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from models.lifter.evaluate import checkpoint_predictor, evaluate, onnx_predictor
from models.lifter.export import export_onnx
from models.lifter.train import load_config


def test_training_lowers_the_loss_and_logs_json_lines(tiny_lifter: Path) -> None:
    lines = [json.loads(x) for x in (tiny_lifter.parent / "train_log.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [10, 20, 30, 40]
    assert lines[-1]["loss"] < 0.8 * lines[0]["loss"]


def test_onnx_streams_like_the_checkpoint(tiny_lifter: Path, tmp_path: Path) -> None:
    out = export_onnx(tiny_lifter, tmp_path / "lifter.onnx")
    features = np.random.default_rng(0).normal(size=(2, 5, 126)).astype(np.float32)
    np.testing.assert_allclose(onnx_predictor(out)(features), checkpoint_predictor(tiny_lifter)(features),
                               atol=1e-4)
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["model"] == "lifter" and json.loads(meta["state_shape"]) == [1, 1, 32]


def test_evaluation_reports_model_and_input_errors(tiny_lifter: Path) -> None:
    r = evaluate(tiny_lifter, sequences=8, length=6)
    assert r.sequences == 8 and r.frames == 6
    assert 0 < r.pa_3d_mm < r.mean_3d_mm < 200
    assert 2 < r.input_pa_3d_mm < 40  # the simulated detector is off by millimetres, not centimetres
    assert r.mean_2d_px > 0 and 0 <= r.rotation_error_deg <= 180


def test_shipped_config_loads() -> None:
    from tests.conftest import REPO_ROOT

    config = load_config(REPO_ROOT / "models/configs/lifter.toml")
    assert config.motion.length == 24 and config.model.hidden == 256
    second = load_config(REPO_ROOT / "models/configs/lifter_detector.toml")
    assert second.train.init_from == "runs/lifter/lifter.pt" and second.train.detector_every == 3
