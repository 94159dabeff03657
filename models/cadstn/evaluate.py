"""Evaluate CADSTN — a training checkpoint or an exported ONNX model — on held-out synthetic depth
sequences or on NYU / ICVL in their published formats, with the standard NYU/ICVL numbers.

Every sequence starts from a fresh LSTM state. A checkpoint reports its spatial, temporal and fused
predictions (the paper's ablation, Table IV); an ONNX model reports what it outputs (fused), run
frame by frame through ONNX Runtime exactly as the engine runs it.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np

from models.cadstn.data import CropSet, build_crop_set, dataset_sequences, synth_sequences
from models.finger_states import extended_read_extended, states_agree
from models.metrics import PoseReport, acceleration_error, joint_errors, pose_report
from models.onnx_session import open_session
from models.synth.sequence import ANY_TILT_DEG

DATA_LAYOUTS = {"synth": "hand21", "nyu": "nyu14", "icvl": "icvl16"}
CROP_OFF_MM = 40.0  # a live crop centred farther than this from the true joints' centroid is off the hand


@dataclass
class EvalOptions:
    data: str = "synth"  # synth | nyu | icvl
    root: str = ""  # nyu: the split folder holding joint_data.mat; icvl: the label file
    seed: int = 1000  # synth: a seed no training set used
    sequences: int = 24
    frames: int = 20
    max_tilt_deg: float = ANY_TILT_DEG  # synth crops: hands turned at most this far from the camera (180: any)
    limit: int = 0  # nyu/icvl: first N frames only (0 = all)
    sensor: str = ""  # synth: depth sensor model of the renders ("" = the renderer's default)
    # RGB-D models: none (depth only), simulated MediaPipe landmarks on every frame, or (live, full frames)
    # MediaPipe's own on the colour
    keypoints: str = "none"
    # synth live: the lifter's RGB-D full-frame renders instead of the depth scenes (implied by MediaPipe's
    # keypoints, which need their colour); without them, the depth-only path on the frames MediaPipe reads
    rgbd_renders: bool = False
    threads: int = 2

    @property
    def reads_rgbd_renders(self) -> bool:
        """Whether a live evaluation runs on the lifter's RGB-D renders rather than the depth scenes."""
        return self.rgbd_renders or self.keypoints == "mediapipe"


@dataclass
class CropsOffHand:
    """Live evaluations: the share of frames whose crop (after re-cutting) is centred more than CROP_OFF_MM from the
    true joints' centroid — the detector or the track off the hand, so the network saw only part of it — and the
    mean joint error on those frames and on the others (None where there are none); and the share of all held-out
    frames in which no crop was cut at all (the detector found no hand and no track held one), which no error
    counts. Why: it separates what the cropping costs from what the network gets wrong; on whole frames 5-9 % of
    crops lie off the hand and make half or more of the mean error, and a detector that gives up on hard frames
    would lower the mean error by leaving them out."""

    share: float
    error_off_mm: float | None
    error_on_mm: float | None
    uncut: float = 0.0

    @classmethod
    def measure(cls, centres_mm: np.ndarray, pred_mm: np.ndarray, gt_mm: np.ndarray,
                frames: int | None = None) -> CropsOffHand:
        """From the crops' centres (N, 3) and the predicted and true joints (N, K, 3), all camera mm, of the N frames
        scored out of `frames` held out (default N: every frame had its crop)."""
        off = np.linalg.norm(centres_mm - gt_mm.mean(axis=1), axis=1) > CROP_OFF_MM
        errors = joint_errors(pred_mm, gt_mm).mean(axis=1)
        frames = len(off) if frames is None else frames
        if frames < len(off):
            raise ValueError(f"{len(off)} frames scored out of {frames} held out")
        return cls(float(off.mean()), float(errors[off].mean()) if off.any() else None,
                   float(errors[~off].mean()) if not off.all() else None, 1.0 - len(off) / frames)

    def summary(self) -> str:
        def mm(v: float | None) -> str:
            return "—" if v is None else f"{v:.1f} mm"

        return (f"crop off the hand (> {CROP_OFF_MM:g} mm from the joints' centroid) in {100 * self.share:.1f} % of "
                f"frames: mean error there {mm(self.error_off_mm)}, elsewhere {mm(self.error_on_mm)}\n"
                f"no hand found, so no crop and no score, in {100 * self.uncut:.1f} % of the held-out frames")


@dataclass
class EvalResult:
    reports: dict[str, PoseReport]  # by prediction: spatial / temporal / fused
    acceleration_mm: dict[str, float] = field(default_factory=dict)  # mean per-frame acceleration error
    axis_turnovers: float | None = None  # upright crops: share of consecutive frames whose turn flips (> 90°)
    # 21 joints: by prediction, share of frames whose five finger states match the truth's (`models.finger_states`)
    finger_states: dict[str, float] = field(default_factory=dict)
    # 21 joints: by prediction, per finger, share of frames with it extended that read it extended
    extended_read: dict[str, dict[str, float]] = field(default_factory=dict)
    crops_off_hand: CropsOffHand | None = None  # live evaluations only

    def summary(self) -> str:
        lines = [f"{name}: {r.summary()}, acceleration error {self.acceleration_mm[name]:.2f} mm"
                 + (f", finger states right {100 * self.finger_states[name]:.1f} %" if name in self.finger_states
                    else "")
                 + (", extended read extended " + " ".join(_share(finger, share) for finger, share
                                                          in self.extended_read[name].items())
                    if name in self.extended_read else "") for name, r in self.reports.items()]
        if self.axis_turnovers is not None:
            lines.append(f"crop axis turned over (> 90° between frames) in {100 * self.axis_turnovers:.2f} % of frames")
        if self.crops_off_hand is not None:
            lines.append(self.crops_off_hand.summary())
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {name: {"mean_mm": r.mean_error, "pck_auc_20_50": r.pck_auc_20_50,
                       "worst_joint_within_20_40_80mm": [float(r.success[i]) for i in (20, 40, 80)],
                       "per_joint_mm": [float(v) for v in r.per_joint], "frames": r.frames,
                       "acceleration_mm": self.acceleration_mm[name], "axis_turnovers": self.axis_turnovers,
                       "finger_states_right": self.finger_states.get(name),
                       "extended_read_extended": self.extended_read.get(name),
                       "crops_off_hand": None if self.crops_off_hand is None else asdict(self.crops_off_hand)}
                for name, r in self.reports.items()}


def _share(finger: str, share: float) -> str:
    return f"{finger} {100 * share:.0f} %" if np.isfinite(share) else f"{finger} — (never extended)"


def load_eval_crops(options: EvalOptions, cube_mm: float, size: int, upright: bool = False) -> CropSet:
    if options.data not in DATA_LAYOUTS:
        raise ValueError(f"--data must be one of {', '.join(DATA_LAYOUTS)}, got {options.data!r}")
    if options.data == "synth":
        seqs = synth_sequences(options.seed, options.sequences, options.frames, cube_mm, size,
                               max_tilt_deg=options.max_tilt_deg, sensor=options.sensor)
    else:
        if not options.root:
            raise ValueError(f"evaluating on {options.data} needs the dataset path (--root)")
        seqs = dataset_sequences(options.data, Path(options.root), options.limit)
    return build_crop_set(seqs, cube_mm, size, upright=upright)


def evaluate(model: Path, options: EvalOptions | None = None, crops: CropSet | None = None) -> EvalResult:
    """Evaluate a `.pt` checkpoint or `.onnx` model; `crops` overrides the data of `options`."""
    options = options or EvalOptions()
    predict, layout, cube, size, upright, sigma = load_predictor(Path(model), options.threads)
    if crops is None:
        if DATA_LAYOUTS.get(options.data) not in (None, layout):
            raise ValueError(f"model {model} predicts the {layout} joints but {options.data} has "
                             f"{DATA_LAYOUTS[options.data]}")
        crops = load_eval_crops(options, cube, size, upright)
    if crops.joints.shape[1] != {"hand21": 21, "nyu14": 14, "icvl16": 16}[layout]:
        raise ValueError(f"model {model} predicts the {layout} joints; the data has {crops.joints.shape[1]} joints")
    keypoints = None
    if sigma:  # an RGB-D model: simulated landmarks on every frame, or (without `keypoints`) none at all
        from models.cadstn.keypoints import KeypointInputs

        if options.keypoints == "mediapipe":
            raise ValueError("MediaPipe's keypoints are evaluated live on full frames (--live)")
        keypoints = KeypointInputs(size, sigma, dropout=0.0 if options.keypoints == "simulated" else 1.0)
    return evaluate_crops(predict, crops, keypoints, options.seed)


def load_predictor(model: Path, threads: int = 1):
    """A `.pt` checkpoint's or `.onnx` file's sequence predictor (crops (T, C, M, M) → {name: normalised
    joints}; a checkpoint gives spatial, temporal and fused, a file fused) with what it was made for: joint layout,
    cube mm, crop size, upright crops, heatmap sigma (0 for a depth-only model)."""
    model = Path(model)
    if not model.is_file():
        raise FileNotFoundError(f"model {model} does not exist")
    return _onnx_predictor(model, threads) if model.suffix == ".onnx" else _checkpoint_predictor(model)


def read_crops(predict, crops: CropSet, keypoints=None, seed: int = 0,
               every: int = 1) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Run `predict` (whole sequence of crops → {name: normalised joints}) on every `every`-th sequence; an
    RGB-D model's heatmap channels are drawn by `keypoints` (a `models.cadstn.keypoints.KeypointInputs`).
    → the joints read by prediction name and the true ones, camera mm (N, K, 3), sequences in order."""
    outputs: dict[str, list[np.ndarray]] = {}
    truth = []
    rng = np.random.default_rng([seed, 11])
    for (start, end), (depth, joints, _) in islice(zip(crops.bounds, crops.sequences()), 0, None, every):
        if keypoints is not None:
            depth = keypoints(rng, depth[None], crops.keypoints[None, start:end])[0]
        for name, pred in predict(depth).items():
            outputs.setdefault(name, []).append(crops.to_mm(pred, int(start)))
        truth.append(crops.to_mm(joints, int(start)))
    return {name: np.concatenate(parts) for name, parts in outputs.items()}, np.concatenate(truth)


def evaluate_crops(predict, crops: CropSet, keypoints=None, seed: int = 0) -> EvalResult:
    """`read_crops` on every sequence, scored."""
    outputs, gt = read_crops(predict, crops, keypoints, seed)
    result = EvalResult(reports={})
    for name, pred in outputs.items():
        result.reports[name] = pose_report(pred, gt)
        accel = [acceleration_error(pred[s:e], gt[s:e]) for s, e in crops.bounds if e - s >= 3]
        result.acceleration_mm[name] = float(np.mean(accel)) if accel else float("nan")
        if gt.shape[1] == 21:
            result.finger_states[name] = states_agree(pred, gt)
            result.extended_read[name] = extended_read_extended(pred, gt)
    return result


def model_predictor(model):
    """A sequence predictor from a PyTorch `Cadstn` (fresh LSTM state per sequence, eval mode)."""
    import torch

    @torch.no_grad()
    def predict(depth: np.ndarray) -> dict[str, np.ndarray]:
        modes = [(m, m.training) for m in model.modules()]  # a stage in training may call this
        model.eval()
        device = next(model.parameters()).device
        out, _ = model(torch.from_numpy(depth)[None].to(device))
        for m, mode in modes:
            m.training = mode
        return {name: getattr(out, name)[0].cpu().numpy() for name in ("spatial", "temporal", "fused")}

    return predict


def _checkpoint_predictor(path: Path):
    from models.cadstn.checkpoint import load_model

    model, config, _ = load_model(path)
    m = config.model
    return model_predictor(model), m.joint_layout, m.cube_mm, m.crop_size, m.upright, \
        m.heatmap_sigma if m.keypoints else 0.0


def _onnx_predictor(path: Path, threads: int):
    try:
        session = open_session(path, threads)
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for a damaged file
        raise ValueError(f"{path}: not a loadable ONNX model ({type(exc).__name__})") from None
    meta = session.get_modelmeta().custom_metadata_map
    if meta.get("model") != "cadstn":
        raise ValueError(f"{path}: not a CADSTN model (metadata model={meta.get('model')!r})")
    shape = json.loads(meta["state_shape"])

    def predict(depth: np.ndarray) -> dict[str, np.ndarray]:
        h = np.zeros(shape, np.float32)
        c = np.zeros(shape, np.float32)
        joints = []
        for frame in depth:
            feeds = {"depth": frame[None, :1], "h": h, "c": c}
            if frame.shape[0] > 1:  # an RGB-D model's heatmaps follow the crop
                feeds["heatmaps"] = frame[None, 1:]
            j, h, c = session.run(["joints", "h_out", "c_out"], feeds)
            joints.append(j[0])
        return {"fused": np.stack(joints)}

    sigma = float(meta.get("heatmap_sigma", 0)) if meta.get("keypoints") == "true" else 0.0
    return (predict, meta["joint_layout"], float(meta["cube_mm"]), int(meta["crop_size"]),
            meta.get("upright", "false") == "true", sigma)

