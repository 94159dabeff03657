"""Evaluation of a checkpoint and of its ONNX export on the same crops: same fused numbers; crops off the hand."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from models.cadstn.checkpoint import save_checkpoint
from models.cadstn.data import build_crop_set
from models.cadstn.evaluate import CROP_OFF_MM, CropsOffHand, EvalOptions, evaluate
from models.cadstn.export import export_onnx
from models.cadstn.fusion import Cadstn
from tests.models.cadstn.conftest import tiny_config, toy_sequences


def test_checkpoint_and_onnx_agree_and_report_the_ablation(tmp_path):
    torch.manual_seed(0)
    config = tiny_config()
    ckpt = tmp_path / "fusion.pt"
    save_checkpoint(ckpt, {"config": config.to_dict(), "model": Cadstn(config.model).state_dict()})
    onnx_path = export_onnx(ckpt, tmp_path / "m.onnx")
    crops = build_crop_set(toy_sequences(2, 6, seed=4), 250.0, 32)
    from_ckpt = evaluate(ckpt, crops=crops)
    from_onnx = evaluate(onnx_path, EvalOptions(threads=1), crops=crops)
    assert set(from_ckpt.reports) == {"spatial", "temporal", "fused"} and set(from_onnx.reports) == {"fused"}
    assert from_onnx.reports["fused"].mean_error == pytest.approx(from_ckpt.reports["fused"].mean_error, abs=1e-3)
    assert from_ckpt.reports["fused"].frames == 12
    assert from_ckpt.reports["spatial"].mean_error != from_ckpt.reports["temporal"].mean_error
    assert "fused:" in from_onnx.summary() and from_onnx.to_dict()["fused"]["frames"] == 12


def test_layout_mismatch_and_missing_model_are_clear_errors(tmp_path):
    config = tiny_config()
    ckpt = tmp_path / "fusion.pt"
    save_checkpoint(ckpt, {"config": config.to_dict(), "model": Cadstn(config.model).state_dict()})
    with pytest.raises(ValueError, match="hand21 joints but nyu has nyu14"):
        evaluate(ckpt, EvalOptions(data="nyu", root=str(tmp_path)))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        evaluate(tmp_path / "none.onnx")


def test_an_upright_model_is_evaluated_on_upright_crops_from_checkpoint_and_onnx_alike(tmp_path):
    torch.manual_seed(0)
    results = {}
    for upright in (True, False):
        config = tiny_config(upright=upright)
        ckpt = tmp_path / f"fusion_{upright}.pt"
        save_checkpoint(ckpt, {"config": config.to_dict(), "model": Cadstn(config.model).state_dict()})
        onnx_path = export_onnx(ckpt, tmp_path / f"m_{upright}.onnx")
        options = EvalOptions(sequences=1, frames=3, threads=1)
        results[upright] = [evaluate(path, options).reports["fused"].mean_error for path in (ckpt, onnx_path)]
        metadata = {p.key: p.value for p in onnx.load(str(onnx_path)).metadata_props}
        assert metadata["upright"] == str(upright).lower()
    assert results[True][0] == pytest.approx(results[True][1], abs=1e-3)
    assert results[True][0] != pytest.approx(results[False][0], abs=1e-3)  # the turned crops change what it sees


def test_crops_off_the_hand_are_counted_with_their_own_error():
    gt = np.zeros((4, 21, 3))
    gt[:, :, 2] = 500.0
    pred = gt.copy()
    pred[:, :, 0] += [[2.0], [4.0], [30.0], [50.0]]  # per frame: every joint this far off in x
    centres = gt.mean(axis=1).copy()
    centres[2:, 1] += CROP_OFF_MM + 1.0  # the last two crops lie off the hand, the first two on it
    centres[1, 1] += CROP_OFF_MM - 1.0
    off = CropsOffHand.measure(centres, pred, gt)
    assert off.share == 0.5 and off.error_off_mm == pytest.approx(40.0) and off.error_on_mm == pytest.approx(3.0)
    assert "in 50.0 % of frames: mean error there 40.0 mm, elsewhere 3.0 mm" in off.summary()
    on = CropsOffHand.measure(gt.mean(axis=1), pred, gt)  # every crop on the hand: no error "there"
    assert on.share == 0.0 and on.error_off_mm is None and "there —" in on.summary()
    assert off.uncut == on.uncut == 0.0  # every held-out frame had its crop
    fewer = CropsOffHand.measure(centres, pred, gt, frames=5)  # a fifth frame held out had no hand found
    assert fewer.uncut == pytest.approx(0.2) and fewer.share == off.share
    assert "no crop and no score, in 20.0 % of the held-out frames" in fewer.summary()
    with pytest.raises(ValueError, match="4 frames scored out of 3 held out"):
        CropsOffHand.measure(centres, pred, gt, frames=3)


def test_summary_gives_each_fingers_extended_share_and_says_when_the_truth_never_extends_it():
    import numpy as np

    from models.cadstn.evaluate import EvalResult
    from models.metrics import pose_report

    joints = np.zeros((2, 21, 3))
    shares = {"thumb": 0.2, "index": 0.875, "middle": 1.0, "ring": float("nan"), "pinky": 0.0}
    result = EvalResult(reports={"fused": pose_report(joints, joints)}, acceleration_mm={"fused": 0.0},
                        finger_states={"fused": 0.5}, extended_read={"fused": shares})
    line = result.summary().splitlines()[0]
    assert line.endswith("extended read extended thumb 20 % index 88 % middle 100 % ring — (never extended) pinky 0 %")
    assert result.to_dict()["fused"]["extended_read_extended"]["index"] == 0.875
