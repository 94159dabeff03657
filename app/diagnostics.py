"""What `handstream doctor` reports: package versions, ONNX Runtime providers, the hand model, cameras.

Every probe is guarded: a missing package or device is a line in the report, never a crash.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from importlib import metadata

# (distribution on PyPI, what the report calls it). onnxruntime-gpu provides the same module as onnxruntime.
PACKAGES = (
    ("torch", "torch"),
    ("onnxruntime", "onnxruntime"),
    ("onnxruntime-gpu", "onnxruntime-gpu"),
    ("opencv-contrib-python", "opencv"),
    ("mediapipe", "mediapipe"),
    ("ai-edge-litert", "LiteRT"),
    ("pyrealsense2", "pyrealsense2"),
    ("open3d", "open3d"),
    ("PyQt6", "PyQt6"),
    ("smplx", "smplx"),
    ("numpy", "numpy"),
)


@dataclass
class DoctorReport:
    versions: dict[str, str] = field(default_factory=dict)
    providers: list[str] = field(default_factory=list)
    hand_model: str = ""
    hand_detector: str = ""
    training: str = ""
    models: list[str] = field(default_factory=list)
    webcams: list[str] = field(default_factory=list)
    realsense: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _providers(report: DoctorReport) -> None:
    try:
        import onnxruntime as ort

        report.providers = list(ort.get_available_providers())
    except Exception as exc:  # noqa: BLE001 - a broken install is a finding, not a crash
        report.notes.append(f"onnxruntime unusable: {exc}")


def _training(report: DoctorReport) -> None:
    """What training will run on: bf16 configs pay only where bfloat16 is native (models/precision.py)."""
    try:
        import torch

        from models.precision import native_bf16

        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        where = torch.cuda.get_device_name(device) if device.type == "cuda" else \
            f"CPU ({torch.backends.cpu.get_cpu_capability()})"
        how = "native: bf16 configs train in bf16" if native_bf16(device) else \
            "emulated: bf16 configs train in fp32"
        report.training = f"{where}, bfloat16 {how}"
    except Exception as exc:  # noqa: BLE001
        report.notes.append(f"torch unusable: {exc}")


def _hand_model(report: DoctorReport) -> None:
    try:
        from models.hand.model import load_hand_model

        model = load_hand_model()
        report.hand_model = f"{model.name} ({model.num_vertices} vertices) from {model.path}"
    except Exception as exc:  # noqa: BLE001
        report.hand_model = f"unavailable: {exc}"


def _hand_detector(report: DoctorReport) -> None:
    """MediaPipe's networks as the colour path runs them: the bundle loads, and in which precision."""
    try:
        from models.mediapipe_landmarks import LandmarkNetwork

        network = LandmarkNetwork()
        precision = network.precision
        network.close()
        how = "native fp16 on this CPU" if precision == "fp16" else "no native fp16 on this CPU"
        report.hand_detector = f"MediaPipe's palm detector and landmark network on LiteRT, {precision} ({how})"
    except Exception as exc:  # noqa: BLE001 - a missing or broken bundle is a finding
        report.hand_detector = f"unavailable: {exc}"


def _webcams(report: DoctorReport) -> None:
    """List V4L2 capture devices that OpenCV can open (Linux); elsewhere try the first indices."""
    nodes = sorted(glob.glob("/dev/video*"))
    if os.name == "posix" and not nodes:
        return
    try:
        import cv2
    except Exception as exc:  # noqa: BLE001
        report.notes.append(f"opencv unusable: {exc}")
        return
    indices = [int(n.removeprefix("/dev/video")) for n in nodes if n.removeprefix("/dev/video").isdigit()]
    for index in indices or range(4):
        cap = cv2.VideoCapture(index)
        try:
            if cap.isOpened():
                w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
                h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
                report.webcams.append(f"{index}: {w}x{h}")
        finally:
            cap.release()


def _realsense(report: DoctorReport) -> None:
    try:
        import pyrealsense2 as rs

        for dev in rs.context().query_devices():
            name = dev.get_info(rs.camera_info.name)
            serial = dev.get_info(rs.camera_info.serial_number)
            report.realsense.append(f"{name} (serial {serial})")
    except Exception as exc:  # noqa: BLE001
        report.notes.append(f"pyrealsense2 unusable: {exc}")


def _models(report: DoctorReport) -> None:
    """The shipped networks: each file checked against the engine's streaming contract."""
    from engine.estimators import KINDS
    from engine.runtime import ModelSession
    from engine.stream import default_model_path

    for kind, estimator in KINDS.items():
        path = default_model_path(kind)
        try:
            session = ModelSession(path, estimator, providers=["CPUExecutionProvider"], warmup=0)
            report.models.append(f"{kind} {path.name} ({path.stat().st_size / 1e6:.1f} MB, "
                                 f"inputs {', '.join(session.info.input_names)})")
        except Exception as exc:  # noqa: BLE001 - a missing or broken model is a finding
            report.models.append(f"{kind} unavailable: {exc}")


def collect_report(probe_cameras: bool = True) -> DoctorReport:
    report = DoctorReport()
    for dist, label in PACKAGES:
        version = _version(dist)
        if version is not None or dist != "onnxruntime-gpu":
            report.versions[label] = version or "not installed"
    _providers(report)
    _hand_model(report)
    _hand_detector(report)
    _training(report)
    _models(report)
    if probe_cameras:
        _webcams(report)
        _realsense(report)
    return report


def format_report(report: DoctorReport) -> str:
    width = max(len(k) for k in report.versions) + 2
    lines = ["handstream doctor", ""]
    lines += [f"  {name:<{width}}{version}" for name, version in report.versions.items()]
    lines += ["", f"  execution providers: {', '.join(report.providers) or 'none'}"]
    lines += [f"  hand model: {report.hand_model}"]
    lines += [f"  hand detector: {report.hand_detector}"]
    lines += [f"  training: {report.training}"]
    lines += [f"  model: {m}" for m in report.models]
    lines += [f"  webcams: {', '.join(report.webcams) or 'none found'}"]
    lines += [f"  RealSense devices: {', '.join(report.realsense) or 'none found'}"]
    lines += [f"  note: {n}" for n in report.notes]
    return "\n".join(lines)
