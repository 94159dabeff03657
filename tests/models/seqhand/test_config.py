"""SeqHAND-Net TOML configs: shipped files load, mistakes are one-line errors naming file and key."""
from __future__ import annotations

from pathlib import Path

import pytest

from models.seqhand.config import load_config

CONFIGS = Path(__file__).resolve().parents[3] / "models" / "configs"


@pytest.mark.parametrize("name", ["seqhand_paper", "seqhand_compact", "seqhand_compact_halfwidth",
                                  "seqhand_compact_perframe", "seqhand_keypoints"])
def test_shipped_configs_load(name: str) -> None:
    config = load_config(CONFIGS / f"{name}.toml")
    assert config.model.backbone in ("resnet18", "resnet50")
    assert config.loss.lambda_3d == 100.0  # the paper's weights are the defaults


def test_compact_pair_shares_data_losses_and_schedule_but_not_the_recurrent_layer() -> None:
    a, b = (load_config(CONFIGS / "seqhand_compact_halfwidth.toml"),
            load_config(CONFIGS / "seqhand_compact_perframe.toml"))
    assert (a.model.temporal, b.model.temporal) == ("convlstm", "none") and a.model.head_skip
    assert ((a.model.backbone, a.model.width, a.model.input_size)
            == (b.model.backbone, b.model.width, b.model.input_size))
    same = ("seed", "lr", "max_tilt_deg", "scale_min", "scale_max", "workers")
    assert all(getattr(a.pretrain, k) == getattr(b.pretrain, k) for k in same) and a.loss == b.loss
    # the budget is the baseline's in training frames: 10,376 steps of 3 x 12 = its 11,673 steps of 4 x 8, near enough
    frames = a.pretrain.steps * a.pretrain.batch_size * a.pretrain.sequence_length
    assert abs(frames - 11_673 * b.pretrain.batch_size * b.pretrain.sequence_length) < 36
    assert a.output_dir != b.output_dir


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[model]\nbackbone = 'resnet18'\nhiden = 64\n", r"bad\.toml: unknown key model\.hiden"),
        ("[modle]\n", r"bad\.toml: unknown table \[modle\]"),
        ("[pretrain]\nsteps = 'many'\n", r"bad\.toml: pretrain\.steps must be int"),
        ("[pretrain]\nsteps = true\n", r"bad\.toml: pretrain\.steps must be int"),
        ("[model]\ntemporal = 'gru'\n", r"bad\.toml: model\.temporal must be one of"),
        ("[finetune]\nprecision = 'fp16'\n", r"bad\.toml: finetune\.precision must be one of fp32, bf16, got 'fp16'"),
        ("[model]\ninput_size = 100\n", r"bad\.toml: model\.input_size must be a multiple of 32"),
        ("[loss]\nlambda_2d = -1\n", r"bad\.toml: loss\.lambda_2d must not be negative"),
        ("[finetune]\ndataset = 'coco'\n", r"bad\.toml: finetune\.dataset must be one of"),
        ("[pretrain]\nmax_tilt_deg = 0\n", r"bad\.toml: pretrain\.max_tilt_deg must be in \(0, 180\]"),
        ("[model\n", r"bad\.toml: not valid TOML"),
    ],
)
def test_bad_config_is_a_one_line_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        load_config(path)
    assert "\n" not in str(info.value)


def test_integer_where_float_expected_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text("[loss]\nlambda_cam = 2\n[output]\ndir = 'x'\n")
    config = load_config(path)
    assert config.loss.lambda_cam == 2.0 and isinstance(config.loss.lambda_cam, float)
    assert config.output_dir == "x"


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.toml does not exist"):
        load_config(tmp_path / "nope.toml")
