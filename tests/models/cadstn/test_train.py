"""Staged training: what each stage freezes, checkpoints and resume, the loss going down."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.cadstn.checkpoint import read_checkpoint
from models.cadstn.config import CadstnConfig, DataOptions, TrainOptions, load_config
from models.cadstn.data import build_crop_set
from models.cadstn.losses import spatial_loss
from models.cadstn.train import train_stage, validate
from tests.models.cadstn.conftest import tiny_options, toy_sequences


@pytest.fixture(scope="module")
def crops():
    return build_crop_set(toy_sequences(6, 8), cube_mm=250.0, size=32)


def _config(tmp_path, **train):
    base = dict(out_dir=str(tmp_path / "run"), batch_size=8, steps_spatial=3, steps_temporal=3, steps_fusion=3,
                log_every=1, checkpoint_every=2, lr=1e-3)
    base.update(train)
    return CadstnConfig(model=tiny_options(), data=DataOptions(sequence_length=4, frames=8),
                        train=TrainOptions(**base))


def _part(state, name):
    return {k: v for k, v in state.items() if k.startswith(name + ".")}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_stages_train_only_their_network(tmp_path, crops):
    config = _config(tmp_path)
    for stage in ("spatial", "temporal", "fusion"):
        train_stage(config, stage, crops)
    run = tmp_path / "run"
    spa, temp, fus = (read_checkpoint(run / f"{s}.pt")["model"] for s in ("spatial", "temporal", "fusion"))
    # temporal stage: spatial weights are the spatial stage's, temporal weights moved, gate untouched
    assert _same(_part(temp, "spatial"), _part(spa, "spatial"))
    assert not _same(_part(temp, "temporal"), _part(spa, "temporal"))
    assert _same(_part(temp, "gate"), _part(spa, "gate"))
    # fusion stage: both predictors frozen, only the gate learns
    assert _same(_part(fus, "spatial"), _part(spa, "spatial"))
    assert _same(_part(fus, "temporal"), _part(temp, "temporal"))
    assert not _same(_part(fus, "gate"), _part(temp, "gate"))
    assert read_checkpoint(run / "fusion.pt")["steps"] == {"spatial": 3, "temporal": 3, "fusion": 3}


@pytest.mark.parametrize("warm", [True, False])
def test_temporal_stage_starts_from_the_spatial_depth_tower(tmp_path, crops, warm):
    config = _config(tmp_path, lr=1e-12, temporal_from_spatial=warm)  # steps too small to move a weight visibly
    train_stage(config, "spatial", crops)
    train_stage(config, "temporal", crops)
    weights = read_checkpoint(tmp_path / "run" / "temporal.pt")["model"]
    pairs = [(f"temporal.tower.{k[len('spatial.depth_tower.'):]}", k)
             for k in weights if k.startswith("spatial.depth_tower.")]
    pairs += [("temporal.fc.weight", "spatial.h1_depth.weight"), ("temporal.fc.bias", "spatial.h1_depth.bias")]
    close = [torch.allclose(weights[t], weights[s], atol=1e-6) for t, s in pairs]
    assert all(close) if warm else not any(close)


def test_fusion_needs_the_earlier_stages(tmp_path, crops):
    with pytest.raises(FileNotFoundError, match="spatial stage's checkpoint"):
        train_stage(_config(tmp_path), "fusion", crops)


def test_resume_continues_from_the_checkpoint(tmp_path, crops):
    train_stage(_config(tmp_path, steps_spatial=2), "spatial", crops)
    first = read_checkpoint(tmp_path / "run" / "spatial.pt")
    assert first["step"] == 2 and [s for s, _ in first["history"]] == [1, 2]
    train_stage(_config(tmp_path, steps_spatial=4), "spatial", crops, resume=True)
    resumed = read_checkpoint(tmp_path / "run" / "spatial.pt")
    assert resumed["step"] == 4
    assert resumed["history"][:2] == first["history"] and [s for s, _ in resumed["history"]] == [1, 2, 3, 4]


def test_resume_lr_replaces_the_rate_the_checkpoint_ended_with(tmp_path, crops):
    train_stage(_config(tmp_path, steps_spatial=2, lr=1e-3, lr_decay_at=[0.5]), "spatial", crops)
    ended = read_checkpoint(tmp_path / "run" / "spatial.pt")["optimizer"]["param_groups"][0]["lr"]
    assert ended == pytest.approx(1e-4)  # decayed once (lr_decay 0.1)
    train_stage(_config(tmp_path, steps_spatial=3, lr_decay_at=[0.5], resume_lr=5e-4), "spatial", crops, resume=True)
    assert read_checkpoint(tmp_path / "run" / "spatial.pt")["optimizer"]["param_groups"][0]["lr"] == pytest.approx(5e-4)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_short_run_reduces_the_error(tmp_path, crops, monkeypatch, precision):
    import models.cadstn.train as train_module
    import models.precision

    monkeypatch.setattr(models.precision, "native_bf16", lambda device: True)  # bf16 even where emulated

    seen = set()

    def spy(joints, *rest):
        seen.add(joints.dtype)
        return spatial_loss(joints, *rest)

    monkeypatch.setattr(train_module, "spatial_loss", spy)
    torch.manual_seed(0)
    config = _config(tmp_path, steps_spatial=60, batch_size=8, lr=2e-3, precision=precision)
    path = train_stage(config, "spatial", crops, val_set=crops)
    payload = read_checkpoint(path)
    assert seen == {torch.bfloat16 if precision == "bf16" else torch.float32}  # the forward ran in it
    assert all(v.dtype == torch.float32 for v in payload["model"].values() if v.is_floating_point())
    losses = [loss for _, loss in payload["history"]]
    assert sum(losses[-10:]) / 10 < 0.6 * sum(losses[:10]) / 10
    from models.cadstn.fusion import Cadstn

    untrained = validate(Cadstn(config.model), crops, config)["spatial"]
    assert payload["val_mm"]["spatial"] < untrained


def test_each_stage_decays_its_lr_at_the_fractions_of_its_own_steps(tmp_path, crops):
    config = _config(tmp_path, steps_spatial=10, steps_temporal=4, lr=1e-3, lr_decay=0.5,
                     lr_decay_at=[0.3, 0.7])
    lrs = {}
    for stage in ("spatial", "temporal"):
        payload = read_checkpoint(train_stage(config, stage, crops))
        lrs[stage] = payload["optimizer"]["param_groups"][0]["lr"]
    assert lrs == {"spatial": pytest.approx(2.5e-4), "temporal": pytest.approx(2.5e-4)}  # two decays each


CONFIGS = Path(__file__).resolve().parents[3] / "models" / "configs"


@pytest.mark.parametrize("name", sorted(p.stem for p in CONFIGS.glob("cadstn*.toml")))
def test_shipped_configs_load(name):
    config = load_config(CONFIGS / f"{name}.toml")
    if name != "cadstn_nyu":  # the paper's NYU reproduction
        assert config.data.source == "synth" and config.model.joint_layout == "hand21"
    assert all(0 < f < 1 for f in config.train.lr_decay_at)


@pytest.mark.parametrize("text, message", [
    ("[model]\nchanels = [1, 2, 3]\n", r"bad.toml: unknown key model\.chanels"),
    ("[model]\ngate = 'sum'\n", "gate must be one of"),
    ("[train]\nlr = 'fast'\n", r"bad.toml: train\.lr must be float"),
    ("[train]\nlr_decay_at = [0.5, 2]\n", r"bad.toml \[train\]: lr_decay_at holds fractions"),
    ("[train]\nlr_decay_at = 0.5\n", r"bad.toml: train\.lr_decay_at must be list"),
    ("[data]\nmax_tilt_deg = 200.0\n", r"bad.toml \[data\]: max_tilt_deg must be within 0..180, got 200"),
    ("[model]\nconvs_per_stage = 0\n", r"bad.toml \[model\]: .*convs_per_stage .* must be positive"),
    ("[model]\nbatch_norm = 1\n", r"bad.toml: model\.batch_norm must be bool"),
    ("[train]\nprecision = 'fp16'\n", r"bad.toml \[train\]: precision must be one of fp32, bf16, got 'fp16'"),
])
def test_bad_config_is_a_one_line_error(tmp_path, text, message):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_config(cfg)


def test_resumed_fusion_uses_the_latest_predictors(tmp_path, crops):
    for stage in ("spatial", "temporal", "fusion"):
        train_stage(_config(tmp_path, steps_spatial=2, steps_temporal=2, steps_fusion=2), stage, crops)
    longer = _config(tmp_path, steps_spatial=4, steps_temporal=2, steps_fusion=3)
    train_stage(longer, "spatial", crops, resume=True)  # the spatial network moves on
    train_stage(longer, "fusion", crops, resume=True)
    run = tmp_path / "run"
    fusion = read_checkpoint(run / "fusion.pt")
    assert _same(_part(fusion["model"], "spatial"), _part(read_checkpoint(run / "spatial.pt")["model"], "spatial"))
    assert fusion["step"] == 3 and fusion["steps"] == {"spatial": 4, "temporal": 2, "fusion": 3}
