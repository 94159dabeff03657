"""SeqHAND-Net training configuration: a TOML file -> dataclasses, with one-line errors.

Every key has a default, so a config only states what differs; an unknown table or key, or a value
of the wrong type, is a ValueError naming the file and the key (typos must not silently train the
wrong model for an hour).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from models.config_file import fill_table, read_toml
from models.precision import PRECISIONS
from models.synth.sequence import ANY_TILT_DEG, DEFAULT_SCALE

TEMPORAL_KINDS = ("convlstm", "lstm", "none")
FINETUNE_DATASETS = ("freihand", "stb")


@dataclass
class ModelOptions:
    """Network shape. `temporal`: convlstm (SeqHAND-Net), lstm (Encoder+LSTM), none (per-frame)."""

    backbone: str = "resnet50"
    width: int = 64
    input_size: int = 224
    temporal: str = "convlstm"
    hidden: int = 256
    kernel_size: int = 3
    head_skip: bool = False  # the head also reads the pooled encoder feature, not only the recurrent state
    scale_init: float = 5.0  # initial weak-perspective scale: crop units per metre
    pretrained_backbone: str = ""  # optional local torchvision-style state dict
    # 21 Gaussian heatmaps of 2-D hand keypoints (MediaPipe's landmarks live, simulated detections in training)
    # as input channels beside the RGB; heatmap_sigma is their standard deviation in crop pixels
    keypoint_heatmaps: bool = False
    heatmap_sigma: float = 2.0
    hand_model: str = ""  # hand model pickle; empty = the default (open model or HANDSTREAM_MANO_DIR)


@dataclass
class LossWeights:
    """Weights of Eq. 14/15 (paper values as defaults); lambda_mesh weighs LM3D."""

    lambda_2d: float = 5.0
    lambda_3d: float = 100.0
    lambda_mesh: float = 100.0
    lambda_temp: float = 100.0
    lambda_theta_temp: float = 2e-4
    lambda_cam: float = 1.0
    lambda_mask: float = 10.0


@dataclass
class PretrainOptions:
    """Stage 1: synthetic pose-flow sequences, generated on the fly or read from shards."""

    seed: int = 0
    steps: int = 1000
    batch_size: int = 4
    sequence_length: int = 10
    lr: float = 1e-3
    weight_decay: float = 0.0
    shards: str = ""  # folder of shards written by models/synth; empty = generate on the fly
    sequences: int = 0  # distinct sequences, repeated in epochs (paper: 40,000); 0 = a new one every time
    workers: int = 0  # background processes rendering sequences (0 = render in the training process)
    max_minutes: float = 0.0  # wall-clock budget (0 = none): the LR schedule and the end follow it
    max_tilt_deg: float = ANY_TILT_DEG  # 180: any hand orientation; less: turned towards the camera by at most this
    # weak-perspective scale of the rendered hands, crop units per metre: how much of the crop a hand fills
    # (the engine crops 2.2x the hand box: about 5-10 for real hands)
    scale_min: float = DEFAULT_SCALE[0]
    scale_max: float = DEFAULT_SCALE[1]
    precision: str = "fp32"  # or "bf16": forward under bfloat16 autocast (models/precision.py)
    # keypoint_heatmaps models: share of sequences whose RGB is blanked to zero (the heatmaps alone must do)
    blank_rgb: float = 0.3
    log_every: int = 10
    checkpoint_every: int = 200


@dataclass
class FinetuneOptions:
    """Stage 2 (the paper's TrainC): real static images as one-frame sequences, ConvLSTM frozen."""

    seed: int = 0
    steps: int = 1000
    batch_size: int = 16
    lr: float = 1e-4
    weight_decay: float = 0.0
    dataset: str = "freihand"
    root: str = ""
    init: str = ""  # checkpoint to start from; empty = the pretrain stage's last checkpoint
    max_minutes: float = 0.0
    precision: str = "fp32"
    blank_rgb: float = 0.3  # as in [pretrain], for keypoint_heatmaps models
    log_every: int = 10
    checkpoint_every: int = 200


@dataclass
class SeqHandConfig:
    model: ModelOptions = field(default_factory=ModelOptions)
    loss: LossWeights = field(default_factory=LossWeights)
    pretrain: PretrainOptions = field(default_factory=PretrainOptions)
    finetune: FinetuneOptions = field(default_factory=FinetuneOptions)
    output_dir: str = "runs/seqhand"
    source: Path | None = None  # the file it came from (relative paths resolve against the cwd)


_TABLES = {"model": ModelOptions, "loss": LossWeights, "pretrain": PretrainOptions, "finetune": FinetuneOptions}


def load_config(path: Path) -> SeqHandConfig:
    """Read a SeqHAND-Net TOML config; see models/configs/seqhand_*.toml."""
    path = Path(path)
    raw = read_toml(path)
    config = SeqHandConfig(source=path)
    for table, value in raw.items():
        if table == "output":
            config.output_dir = fill_table(_Output, value, path, "output").dir
        elif table in _TABLES:
            setattr(config, table, fill_table(_TABLES[table], value, path, table))
        else:
            raise ValueError(f"{path}: unknown table [{table}] (expected {', '.join([*_TABLES, 'output'])})")
    _check(path, config)
    return config


@dataclass
class _Output:
    dir: str = "runs/seqhand"


def _check(path: Path, c: SeqHandConfig) -> None:
    m = c.model
    if m.temporal not in TEMPORAL_KINDS:
        raise ValueError(f"{path}: model.temporal must be one of {', '.join(TEMPORAL_KINDS)}, got {m.temporal!r}")
    for stage in ("pretrain", "finetune"):
        if getattr(c, stage).precision not in PRECISIONS:
            raise ValueError(f"{path}: {stage}.precision must be one of {', '.join(PRECISIONS)}, "
                             f"got {getattr(c, stage).precision!r}")
    if c.finetune.dataset not in FINETUNE_DATASETS:
        raise ValueError(f"{path}: finetune.dataset must be one of {', '.join(FINETUNE_DATASETS)}, "
                         f"got {c.finetune.dataset!r}")
    if m.input_size < 32 or m.input_size % 32:
        raise ValueError(f"{path}: model.input_size must be a multiple of 32 (>= 32), got {m.input_size}")
    positive = {
        "model.width": m.width, "model.hidden": m.hidden, "model.scale_init": m.scale_init,
        "model.heatmap_sigma": m.heatmap_sigma,
        "pretrain.steps": c.pretrain.steps, "pretrain.batch_size": c.pretrain.batch_size,
        "pretrain.sequence_length": c.pretrain.sequence_length, "pretrain.lr": c.pretrain.lr,
        "finetune.steps": c.finetune.steps, "finetune.batch_size": c.finetune.batch_size,
        "finetune.lr": c.finetune.lr,
        "pretrain.log_every": c.pretrain.log_every, "pretrain.checkpoint_every": c.pretrain.checkpoint_every,
        "finetune.log_every": c.finetune.log_every, "finetune.checkpoint_every": c.finetune.checkpoint_every,
    }
    for key, value in positive.items():
        if value <= 0:
            raise ValueError(f"{path}: {key} must be positive, got {value}")
    non_negative = {"pretrain.workers": c.pretrain.workers, "pretrain.sequences": c.pretrain.sequences,
                    "pretrain.max_minutes": c.pretrain.max_minutes, "finetune.max_minutes": c.finetune.max_minutes}
    for key, value in non_negative.items():
        if value < 0:
            raise ValueError(f"{path}: {key} must not be negative, got {value}")
    for key, value in dataclasses.asdict(c.loss).items():
        if value < 0:
            raise ValueError(f"{path}: loss.{key} must not be negative, got {value}")
    if not 0.0 < c.pretrain.scale_min <= c.pretrain.scale_max:
        raise ValueError(f"{path}: pretrain.scale_min must be positive and at most scale_max")
    if not 0.0 < c.pretrain.max_tilt_deg <= ANY_TILT_DEG:
        raise ValueError(f"{path}: pretrain.max_tilt_deg must be in (0, 180], got {c.pretrain.max_tilt_deg}")
    for stage in ("pretrain", "finetune"):
        if not 0.0 <= getattr(c, stage).blank_rgb <= 1.0:
            raise ValueError(f"{path}: {stage}.blank_rgb must be in [0, 1], got {getattr(c, stage).blank_rgb}")
    if m.kernel_size % 2 == 0:
        raise ValueError(f"{path}: model.kernel_size must be odd, got {m.kernel_size}")
