"""Training precision: bf16 where the hardware has it, fp32 (with a warning) where it would be emulated."""
from __future__ import annotations

import pytest
import torch

import models.precision
from models.precision import autocast, training_precision

CPU = torch.device("cpu")


def test_bf16_is_kept_where_the_hardware_computes_it(monkeypatch, capsys) -> None:
    monkeypatch.setattr(models.precision, "native_bf16", lambda device: True)
    assert training_precision("bf16", CPU) == "bf16"
    assert training_precision("fp32", CPU) == "fp32"
    assert capsys.readouterr().err == ""


def test_bf16_falls_back_to_fp32_with_one_warning_where_it_would_be_emulated(monkeypatch, caplog) -> None:
    monkeypatch.setattr(models.precision, "native_bf16", lambda device: False)
    with caplog.at_level("WARNING", logger="handstream"):
        assert training_precision("bf16", CPU) == "fp32"
        (record,) = caplog.records
        assert record.levelname == "WARNING" and "no native bfloat16" in record.message
        assert "training in fp32" in record.message
        caplog.clear()
        assert training_precision("bf16", CPU, quiet=True) == "fp32"  # DDP ranks other than 0
        assert caplog.records == []


def test_an_unknown_precision_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16, got 'fp16'"):
        training_precision("fp16", CPU)


@pytest.mark.parametrize(("precision", "dtype"), [("fp32", torch.float32), ("bf16", torch.bfloat16)])
def test_autocast_runs_the_forward_in_the_precision(precision, dtype) -> None:
    layer = torch.nn.Linear(4, 3)
    with autocast(CPU, precision):
        out = layer(torch.ones(2, 4))
    assert out.dtype == dtype and layer.weight.dtype == torch.float32
