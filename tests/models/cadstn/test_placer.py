"""The crop placer: it learns where the hand is in crops cut off its centre and exports to the file the engine reads."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.cadstn.config import CadstnConfig, DataOptions, TrainOptions
from models.cadstn.data import build_crop_set
from models.cadstn.placer import Placer, centroid_error_mm, train_placer
from tests.models.cadstn.conftest import tiny_options, toy_sequences


@pytest.fixture(scope="module")
def off_centre():
    """Toy crops cut up to ~100 mm off the disc's centre (N(0, 40 mm) per axis), as the detector cuts some."""
    train = build_crop_set(toy_sequences(24, 8), cube_mm=250.0, size=32, jitter_mm=40.0, seed=1)
    held_out = build_crop_set(toy_sequences(6, 8, seed=5), cube_mm=250.0, size=32, jitter_mm=40.0, seed=2)
    return train, held_out


def _config(tmp_path, steps: int) -> CadstnConfig:
    return CadstnConfig(model=tiny_options(), data=DataOptions(sequence_length=4, frames=8),
                        train=TrainOptions(out_dir=str(tmp_path / "run"), batch_size=32, lr=3e-3, steps_placer=steps,
                                           log_every=10, checkpoint_every=1000, lr_decay_at=[0.8], seed=0))


def test_the_placer_learns_where_the_hand_is_in_crops_cut_off_it(tmp_path, off_centre):
    train, held_out = off_centre
    config = _config(tmp_path, 300)
    torch.manual_seed(0)
    before = centroid_error_mm(Placer(32, 21), held_out)
    ckpt = train_placer(config, train, held_out)
    payload = torch.load(ckpt, weights_only=False)
    assert payload["stage"] == "placer" and payload["step"] == 300
    after = payload["val_mm"]["centroid"]
    offset = float(np.linalg.norm(held_out.joints.mean(axis=1), axis=-1).mean() * 125.0)  # the crops' own miss
    assert after < 0.5 * offset and after < 0.5 * before, (before, offset, after)


def test_an_exported_placer_is_read_by_the_engine_and_gives_the_networks_answer(tmp_path, off_centre):
    from engine.estimators.cadstn import PlacerContract
    from engine.runtime import ModelSession
    from models.cadstn.export import export_onnx
    from models.cadstn.placer import export_placer

    train, held_out = off_centre
    ckpt = train_placer(_config(tmp_path, 5), train)
    out = export_onnx(ckpt, tmp_path / "m_placer.onnx")  # the CLI's path: a placer checkpoint makes a placer file
    session = ModelSession(out, PlacerContract)
    assert (session.info.cube_mm, session.info.crop_size, session.info.upright) == (250.0, 32, False)
    assert session.info.metadata["axis"] == "crop"
    placer = Placer(32, 21)
    placer.load_state_dict(torch.load(ckpt, weights_only=False)["model"])
    placer.eval()
    crop = held_out.depth[:1]
    found = session.step({"depth": crop}, {})[0]["joints"]
    np.testing.assert_allclose(found, placer(torch.from_numpy(crop)).detach().numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="placer is small enough in float"):
        export_onnx(ckpt, tmp_path / "q.onnx", int8=True)
    with pytest.raises(ValueError, match="is not a placer checkpoint"):
        export_placer(_cadstn_checkpoint(tmp_path), tmp_path / "x.onnx")


def _cadstn_checkpoint(tmp_path):
    from models.cadstn.checkpoint import save_checkpoint
    from models.cadstn.fusion import Cadstn

    config = _config(tmp_path, 1)
    path = tmp_path / "fusion.pt"
    save_checkpoint(path, {"config": config.to_dict(), "stage": "fusion", "step": 1,
                           "model": Cadstn(config.model).state_dict()})
    return path


def test_the_placer_trains_only_when_named_and_with_steps(tmp_path):
    from models.cadstn.train import train

    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[train]\nout_dir = '{tmp_path / 'run'}'\nsteps_placer = 0\n")
    with pytest.raises(ValueError, match="steps_placer must be positive"):
        train(cfg, stage="placer")
    with pytest.raises(ValueError, match="not a CADSTN stage; choose from spatial, temporal, fusion or placer"):
        train(cfg, stage="gate")
