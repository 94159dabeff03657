"""Training on from an exported file: the rebuilt network is the file's, and its BatchNorm trains on."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from models.cadstn.checkpoint import read_checkpoint, save_checkpoint
from models.cadstn.config import CadstnConfig, DataOptions, TrainOptions
from models.cadstn.data import build_crop_set
from models.cadstn.export import export_onnx
from models.cadstn.from_onnx import model_from_onnx
from models.cadstn.fusion import Cadstn
from models.cadstn.keypoints import KeypointInputs
from models.cadstn.train import train_stage
from models.onnx_session import open_session
from tests.models.cadstn.conftest import hand_like_crops, tiny_config, toy_sequences

RGBD = dict(keypoints=True, upright=True, gate="shared")


def _export(folder, config, model):
    save_checkpoint(folder / "fusion.pt", {"config": config.to_dict(), "model": model.state_dict(),
                                           "steps": {"spatial": 7, "temporal": 5, "fusion": 3}})
    return export_onnx(folder / "fusion.pt", folder / "model.onnx")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """An RGB-D model with deep towers whose BatchNorm statistics are far from the identity, exported."""
    torch.manual_seed(2)
    config = tiny_config(convs_per_stage=2, batch_norm=True, **RGBD)
    model = Cadstn(config.model)
    for norm in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        norm.running_mean.uniform_(-0.3, 0.3)
        norm.running_var.uniform_(0.3, 3.0)
        norm.weight.data.uniform_(0.5, 1.5)
        norm.bias.data.uniform_(-0.2, 0.2)
    return _export(tmp_path_factory.mktemp("cadstn_from_onnx"), config, model), model.eval(), config


def _inputs(count: int, seed: int) -> np.ndarray:
    """Crops with heatmaps, as training batches have them: (count, 22, 32, 32)."""
    rng = np.random.default_rng(seed)
    crops = hand_like_crops((1, count, 1, 32, 32), seed=seed)
    return KeypointInputs(32, dropout=0.3)(rng, crops, rng.uniform(-0.6, 0.6, (1, count, 21, 2)))[0]


def test_the_rebuilt_network_predicts_what_the_file_and_the_original_predict(exported):
    path, original, config = exported
    rebuilt, steps = model_from_onnx(path, config.model, _inputs(96, seed=0))
    assert steps == {"spatial": 7, "temporal": 5, "fusion": 3}
    seq = torch.from_numpy(_inputs(12, seed=1))[None]  # other crops than those the statistics came from
    with torch.no_grad():
        want, _ = original(seq)
        got, _ = rebuilt.eval()(seq)
    for name in ("spatial", "temporal", "fused"):
        np.testing.assert_allclose(getattr(got, name).numpy(), getattr(want, name).numpy(), atol=1e-5, rtol=0)
    # streamed through ONNX Runtime: the same joints frame by frame
    session = open_session(path, threads=1)
    h = c = np.zeros((1, config.model.lstm), np.float32)
    for t in range(seq.shape[1]):
        frame = seq[0, t].numpy()
        joints, h, c = session.run(None, {"depth": frame[None, :1], "heatmaps": frame[None, 1:], "h": h, "c": c})
        np.testing.assert_allclose(joints[0], got.fused[0, t].numpy(), atol=1e-5, rtol=0)


def test_the_papers_towers_without_batchnorm_come_back_too(tmp_path):
    torch.manual_seed(3)
    config = tiny_config(**RGBD)
    original = Cadstn(config.model).eval()
    rebuilt, _ = model_from_onnx(_export(tmp_path, config, original), config.model, _inputs(16, seed=0))
    seq = torch.from_numpy(_inputs(6, seed=1))[None]
    with torch.no_grad():
        np.testing.assert_allclose(rebuilt.eval()(seq)[0].fused.numpy(), original(seq)[0].fused.numpy(), atol=1e-5)


def test_batchnorm_in_training_mode_keeps_the_files_predictions(exported):
    """Training normalises by each batch's own statistics: rebuilt around the measured ones, a batch like
    the training crops passes nearly as in eval mode (a BatchNorm left as the identity would not)."""
    path, _, config = exported
    crops = _inputs(256, seed=0)
    rebuilt, _ = model_from_onnx(path, config.model, crops)
    batch = torch.from_numpy(crops[:128])
    with torch.no_grad():
        evaluated = rebuilt.eval().spatial(batch).joints
        rebuilt.train()
        for dropout in (m for m in rebuilt.modules() if isinstance(m, torch.nn.Dropout)):
            dropout.eval()  # only BatchNorm differs between the two modes here
        trained = rebuilt.spatial(batch).joints
    norms = [m for m in rebuilt.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(norms) == 18 and all(not torch.allclose(n.running_var, torch.ones_like(n.running_var)) for n in norms)
    spread = float(evaluated.std())
    assert float((trained - evaluated).abs().max()) < 0.05 * spread


@pytest.mark.parametrize("change, key", [(dict(crop_size=64), "crop_size"), (dict(lstm=24), "state_shape"),
                                         (dict(keypoints=False), "keypoints")])
def test_another_network_is_refused_in_one_line(exported, change, key):
    path, _, config = exported
    options = tiny_config(**{**dict(convs_per_stage=2, batch_norm=True, **RGBD), **change}).model
    with pytest.raises(ValueError, match=key) as error:
        model_from_onnx(path, options, _inputs(8, seed=0))
    assert "\n" not in str(error.value)


def test_training_goes_on_from_the_file(exported, tmp_path):
    """A run with `init_onnx` starts every stage from the file (the temporal stage not from the spatial
    tower), records where it started, and its export counts the file's steps too."""
    path, original, config = exported
    crops = build_crop_set(toy_sequences(6, 8), cube_mm=250.0, size=32, upright=True)
    run = CadstnConfig(model=config.model, data=DataOptions(sequence_length=4, frames=8),
                       train=TrainOptions(out_dir=str(tmp_path / "run"), init_onnx=str(path), batch_size=8,
                                          steps_spatial=2, steps_temporal=2, steps_fusion=2, lr=1e-12,
                                          log_every=1, checkpoint_every=10))
    for stage in ("spatial", "temporal", "fusion"):
        train_stage(run, stage, crops)
    payload = read_checkpoint(tmp_path / "run" / "fusion.pt")
    assert payload["init"] == {"onnx": str(path), "steps": {"spatial": 7, "temporal": 5, "fusion": 3}}
    weights = payload["model"]
    # the temporal tower is the file's (checked below through the predictions), not the spatial depth tower
    assert not torch.allclose(weights["temporal.tower.body.0.weight"], weights["spatial.depth_tower.body.0.weight"])
    # a few steps at a negligible rate: still the file's network, up to BatchNorm's running averages
    seq = torch.from_numpy(_inputs(6, seed=4))[None]
    trained = Cadstn(config.model)
    trained.load_state_dict(weights)
    with torch.no_grad():
        want, _ = original(seq)
        got, _ = trained.eval()(seq)
    assert float((got.fused - want.fused).abs().max()) < 0.05 * float(want.fused.std())
    out = export_onnx(tmp_path / "run" / "fusion.pt", tmp_path / "again.onnx")
    meta = open_session(out, threads=1).get_modelmeta().custom_metadata_map
    assert json.loads(meta["trained_steps"]) == {"spatial": 9, "temporal": 7, "fusion": 5}
