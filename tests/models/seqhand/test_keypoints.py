"""Keypoint-conditioned SeqHAND-Net (keypoint_heatmaps): the heatmaps, the simulated detections, the spoiled RGB,
the widened first convolution, the shipped config, and training and evaluation with the extra input."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from models.heatmaps import keypoint_heatmaps
from models.lifter.data import KeypointNoise, detector_points_2d
from models.seqhand.checkpoint import save_checkpoint
from models.seqhand.config import ModelOptions, load_config
from models.seqhand.data import Batch
from models.seqhand.keypoint_inputs import KeypointInputOptions, with_keypoint_inputs
from models.seqhand.network import SeqHandNet

REPO = Path(__file__).resolve().parents[3]
NO_NOISE = KeypointNoise(clean=1.0, swap=0.0, drop=0.0)
KEYPOINT_MODEL = "keypoint_heatmaps = true\nheatmap_sigma = 1.5\n"


def _peaks(heatmaps: np.ndarray) -> np.ndarray:
    """(..., 21, S, S) -> the (x, y) pixel of each map's maximum, (..., 21, 2)."""
    size = heatmaps.shape[-1]
    flat = heatmaps.reshape(*heatmaps.shape[:-2], size * size).argmax(axis=-1)
    return np.stack([flat % size, flat // size], axis=-1).astype(np.float64)


def _to_pixels(uv: np.ndarray, size: int) -> np.ndarray:
    return (uv + 1.0) * size / 2.0 - 0.5


# --- the heatmaps (numpy, shared with the engine) ---

def test_heatmaps_peak_at_the_keypoints_with_the_given_width() -> None:
    rng = np.random.default_rng(0)
    size, sigma = 64, 2.0
    pixels = rng.integers(4, 60, (21, 2)).astype(np.float64)  # keypoints on pixel centres
    uv = (pixels + 0.5) / (size / 2.0) - 1.0
    maps = keypoint_heatmaps(uv, size, sigma)
    assert maps.shape == (21, size, size) and maps.dtype == np.float32
    np.testing.assert_array_equal(_peaks(maps), pixels)
    x, y = pixels[:, 0].astype(int), pixels[:, 1].astype(int)
    np.testing.assert_allclose(maps[np.arange(21), y, x], 1.0, rtol=1e-6)
    # one sigma along x: exp(-1/2); two along y: exp(-2)
    np.testing.assert_allclose(maps[np.arange(21), y, x + 2], np.exp(-0.5), rtol=1e-5)
    np.testing.assert_allclose(maps[np.arange(21), y + 4, x], np.exp(-2.0), rtol=1e-5)
    # a wider Gaussian spreads further; a keypoint between pixels peaks at a neighbour of its position
    assert keypoint_heatmaps(uv, size, 4.0)[0, y[0], x[0] + 4] > maps[0, y[0], x[0] + 4]
    off = keypoint_heatmaps(uv + 0.3 / size, size, sigma)  # 0.15 px right and down
    np.testing.assert_array_equal(_peaks(off), pixels)


def test_heatmaps_take_leading_dimensions_and_reject_bad_input() -> None:
    uv = np.random.default_rng(1).uniform(-0.8, 0.8, (2, 3, 21, 2))
    maps = keypoint_heatmaps(uv, 32, 1.0)
    assert maps.shape == (2, 3, 21, 32, 32)
    np.testing.assert_array_equal(maps[1, 2], keypoint_heatmaps(uv[1, 2], 32, 1.0))
    assert keypoint_heatmaps(np.full((21, 2), 5.0), 32, 1.0).max() == 0.0  # far outside the crop: nothing
    with pytest.raises(ValueError, match=r"\(\.\.\., 21, 2\)"):
        keypoint_heatmaps(np.zeros((20, 2)), 32, 1.0)
    with pytest.raises(ValueError, match="sigma must be positive"):
        keypoint_heatmaps(np.zeros((21, 2)), 32, 0.0)


def test_heatmaps_module_imports_without_torch() -> None:
    code = ("import sys; from models.heatmaps import keypoint_heatmaps; "
            "assert 'torch' not in sys.modules, 'torch imported'; print('ok')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-1000:]


# --- simulated detections and spoiled RGB ---

def test_detector_points_2d_adds_the_lifter_noise_model_in_any_unit() -> None:
    rng = np.random.default_rng(0)
    points = np.random.default_rng(1).uniform(-0.5, 0.5, (200, 6, 21, 2))  # crop coordinates
    np.testing.assert_array_equal(detector_points_2d(rng, points, NO_NOISE), points)
    jitter = KeypointNoise(clean=0.0, jitter=(0.02, 0.02), drift=0.0, bias=0.0, swap=0.0, drop=0.0)
    before = points.copy()
    err = detector_points_2d(rng, points, jitter) - points
    np.testing.assert_array_equal(points, before)  # the truth is left alone
    extent = (points.max(axis=2) - points.min(axis=2)).max(axis=-1)[..., None, None]
    assert np.std(err / extent) == pytest.approx(0.02, rel=0.05)  # 2 % of each frame's hand extent
    swap = dataclasses.replace(jitter, jitter=(0.0, 0.0), swap=1.0)
    moved = np.abs(detector_points_2d(rng, points, swap) - points).max(axis=-1) > 0
    assert moved.any() and not moved[..., :6].any()  # whole fingers swap; wrist and thumb stay


def _batch(b: int = 3, t: int = 4, size: int = 64, seed: int = 0) -> Batch:
    from models.seqhand.losses import LossTargets

    rng = np.random.default_rng(seed)
    joints = torch.from_numpy(rng.uniform(-0.6, 0.6, (b, t, 21, 2))).float()
    images = torch.from_numpy(rng.uniform(0.2, 0.8, (b, t, 3, size, size))).float()
    return Batch(images, LossTargets(joints_2d=joints))


def test_heatmaps_are_drawn_from_the_noisy_keypoints() -> None:
    batch = _batch(b=8)
    truth = _to_pixels(batch.targets.joints_2d.numpy(), 64)
    clean = with_keypoint_inputs(batch, np.random.default_rng(0),
                                 KeypointInputOptions(sigma=1.5, blank_rgb=0.0, noise=NO_NOISE))
    assert clean.heatmaps.shape == (8, 4, 21, 64, 64) and clean.targets is batch.targets
    assert np.abs(_peaks(clean.heatmaps.numpy()) - truth).max() <= 0.5  # the nearest pixel to each joint
    noisy = with_keypoint_inputs(batch, np.random.default_rng(0),
                                 KeypointInputOptions(sigma=1.5, blank_rgb=0.0, noise=dataclasses.replace(
                                     KeypointNoise(), clean=0.0)))
    err = np.linalg.norm(_peaks(noisy.heatmaps.numpy()) - truth, axis=-1)
    assert np.median(err) > 0.5 and err.max() < 32  # detections off by a few pixels, still on the hand


def test_rgb_is_randomised_and_blanked_for_a_share_of_the_sequences() -> None:
    batch = _batch(b=40)
    options = KeypointInputOptions(sigma=1.5, blank_rgb=0.5)
    out = with_keypoint_inputs(batch, np.random.default_rng(3), options)
    blank = out.images.flatten(1).abs().amax(dim=1) == 0
    assert 8 <= blank.sum() <= 32  # about half of the sequences, each blank in every frame
    assert torch.all(out.heatmaps[blank].amax(dim=(-1, -2)) > 0.5)  # their keypoints are still there
    kept = out.images[~blank]
    assert kept.min() >= 0 and kept.max() <= 1
    assert (kept - batch.images[~blank]).abs().mean() > 0.05  # strongly changed, not as rendered
    # every sequence its own look: mean colours spread far wider than the rendered ones
    assert kept.mean(dim=(1, 3, 4)).std(dim=0).mean() > 3 * batch.images.mean(dim=(1, 3, 4)).std(dim=0).mean()
    everything = with_keypoint_inputs(batch, np.random.default_rng(3), dataclasses.replace(options, blank_rgb=1.0))
    assert torch.count_nonzero(everything.images) == 0
    as_rendered = with_keypoint_inputs(batch, np.random.default_rng(3), dataclasses.replace(
        options, blank_rgb=0.0, randomise_rgb=False))
    assert torch.equal(as_rendered.images, batch.images)


# --- the network ---

def _keypoint_net(**extra) -> SeqHandNet:
    torch.manual_seed(0)
    return SeqHandNet(ModelOptions(backbone="resnet18", width=8, input_size=64, hidden=16, head_skip=True,
                                   keypoint_heatmaps=True, **extra)).eval()


def test_first_convolution_reads_rgb_and_21_heatmaps_whose_filters_start_at_zero(tmp_path: Path) -> None:
    from models.seqhand.resnet import ResNetEncoder, load_state_dict_file

    net = _keypoint_net()
    assert net.encoder.conv1.weight.shape == (8, 3 + 21, 7, 7)
    assert torch.count_nonzero(net.encoder.conv1.weight[:, 3:]) == 0 < torch.count_nonzero(
        net.encoder.conv1.weight[:, :3])
    frames = torch.rand(1, 3, 3, 64, 64)
    maps = torch.rand(1, 3, 21, 64, 64)
    with torch.no_grad():  # so at first the heatmaps change nothing: the image path starts as it was
        torch.testing.assert_close(net(frames, heatmaps=maps)[0], net(frames, heatmaps=torch.zeros_like(maps))[0])
    # an image-only encoder's weights load into the wide one and give its features exactly
    torch.manual_seed(5)
    rgb_only = ResNetEncoder("resnet18", 8).eval()
    torch.save(rgb_only.state_dict(), tmp_path / "rgb.pt")
    load_state_dict_file(net.encoder, tmp_path / "rgb.pt")
    image = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(net.encoder(torch.cat([image, torch.rand(2, 21, 64, 64)], 1)), rgb_only(image))
    with pytest.raises(ValueError, match="reads 21 keypoint heatmaps beside the image; got none"):
        net(frames)
    with pytest.raises(ValueError, match="reads images only"):
        SeqHandNet(ModelOptions(backbone="resnet18", width=8, input_size=64, hidden=16))(frames, heatmaps=maps)


# --- config, training, evaluation, export ---

def test_shipped_keypoint_config_and_bad_values(tmp_path: Path, tiny_config) -> None:
    config = load_config(REPO / "models" / "configs" / "seqhand_keypoints.toml")
    compact = load_config(REPO / "models" / "configs" / "seqhand_compact.toml")
    assert config.model.keypoint_heatmaps and config.model.heatmap_sigma > 0
    assert dataclasses.replace(config.model, keypoint_heatmaps=False, heatmap_sigma=2.0) == compact.model
    p = config.pretrain
    assert (p.max_tilt_deg, p.precision, p.max_minutes, p.blank_rgb) == (180.0, "bf16", 60.0, 0.3)
    assert (p.scale_min, p.scale_max) == (compact.pretrain.scale_min, compact.pretrain.scale_max)
    assert config.output_dir == "runs/seqhand_keypoints"
    with pytest.raises(ValueError, match="model.heatmap_sigma must be positive"):
        load_config(tiny_config(tmp_path / "a.toml", "heatmap_sigma = 0.0\n"))
    with pytest.raises(ValueError, match=r"pretrain.blank_rgb must be in \[0, 1\]"):
        load_config(tiny_config(tmp_path / "b.toml", "[pretrain]\nblank_rgb = 1.5\n"))
    with pytest.raises(ValueError, match="model.keypoint_heatmaps must be bool"):
        load_config(tiny_config(tmp_path / "c.toml", "keypoint_heatmaps = 1\n"))


def test_tiny_keypoint_pretraining_trains_the_heatmap_filters(tmp_path: Path, tiny_config) -> None:
    from models.seqhand.train import train

    config = tiny_config(tmp_path / "c.toml", KEYPOINT_MODEL + f"""
[pretrain]
seed = 1
steps = 2
batch_size = 2
sequence_length = 3
max_tilt_deg = 180.0
log_every = 1
checkpoint_every = 2
[output]
dir = "{tmp_path / 'out'}"
""")
    saved = torch.load(train(config), weights_only=False)
    assert saved["step"] == 2 and saved["model_options"]["keypoint_heatmaps"]
    assert torch.count_nonzero(saved["model"]["encoder.conv1.weight"][:, 3:]) > 0  # they learn from zero
    log = [json.loads(line) for line in (tmp_path / "out" / "pretrain_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2] and all(np.isfinite(r["total"]) for r in log)


def test_keypoint_finetune_on_real_images_gets_heatmaps(tmp_path: Path, freihand_root: Path, tiny_config) -> None:
    from models.seqhand.train import train

    config = tiny_config(tmp_path / "ft.toml", KEYPOINT_MODEL + f"""
[finetune]
dataset = "freihand"
root = "{freihand_root}"
steps = 1
batch_size = 2
checkpoint_every = 1
init = "{tmp_path / 'pre.pt'}"
[output]
dir = "{tmp_path / 'out'}"
""")
    net = SeqHandNet(load_config(config).model)
    save_checkpoint(tmp_path / "pre.pt", net)
    saved = torch.load(train(config, stage="finetune"), weights_only=False)
    assert saved["step"] == 1
    assert not torch.equal(saved["model"]["encoder.conv1.weight"], net.state_dict()["encoder.conv1.weight"])


def test_keypoint_model_evaluates_alike_as_checkpoint_and_onnx(tmp_path: Path) -> None:
    from models.seqhand.evaluate import evaluate_synthetic
    from models.seqhand.export import export_onnx

    net = _keypoint_net(heatmap_sigma=1.5, scale_init=7.0)
    with torch.no_grad():
        net.encoder.conv1.weight[:, 3:].normal_(0, 0.2)
    save_checkpoint(tmp_path / "ck.pt", net)
    onnx_path = export_onnx(tmp_path / "ck.pt", tmp_path / "m.onnx")
    a = evaluate_synthetic(tmp_path / "ck.pt", sequences=2, length=3, batch_size=2)
    b = evaluate_synthetic(onnx_path, sequences=2, length=3, batch_size=2)
    assert a.mean_3d_mm == pytest.approx(b.mean_3d_mm, rel=1e-4) and a.mean_2d_px == pytest.approx(b.mean_2d_px,
                                                                                                   rel=1e-4)
    with pytest.raises(ValueError, match="int8 export of a keypoint_heatmaps model"):
        export_onnx(tmp_path / "ck.pt", tmp_path / "q.onnx", int8=True)
