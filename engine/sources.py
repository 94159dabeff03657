"""Which capture source a ``--source`` spec means, and which model and detector it calls for by default.

Why apart from ``engine.capture``: every source module imports the ``CaptureSource`` base class from
there; choosing among them imports every source module, so it sits above them, not beside the base.
"""
from __future__ import annotations

from pathlib import Path

from calibration.intrinsics import CameraIntrinsics
from engine.capture import CaptureSource
from engine.demo import DemoSource
from engine.image_source import IMAGE_SUFFIXES, ImageSource, image_files
from engine.opencv_source import OpenCVSource
from engine.options import EngineOptions
from engine.realsense_source import RealSenseSource
from engine.session import TABLE_FILE
from engine.session_source import SessionSource

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
REALSENSE_SUFFIXES = (".bag", ".db3")


RGB_MODEL = "lifter"   # the colour default: it sees real hands (weights/lifter_compact.onnx.md)
DEPTH_MODEL = "cadstn"


def recorded_engine(spec: str) -> dict:
    """The engine a recorded session folder was made with (its manifest's ``engine``: model, model_path,
    detector), so that a replay reproduces it; {} for other sources and unreadable manifests (the frames
    still replay, with the defaults)."""
    import json

    from engine.session import MANIFEST_FILE

    manifest = Path(str(spec).strip()) / MANIFEST_FILE
    try:
        engine = json.loads(manifest.read_text(encoding="utf-8")).get("engine")
    except (OSError, ValueError, AttributeError):
        return {}
    return engine if isinstance(engine, dict) else {}


def default_model(spec: str) -> str:
    """The model a source calls for when none is named: a recorded session's own; CADSTN (depth) for a
    RealSense camera or recording; the keypoint lifter (colour, MediaPipe's landmarks) for everything else."""
    from engine.estimators import KINDS

    recorded = recorded_engine(spec).get("model")
    if recorded in KINDS:
        return recorded
    spec = str(spec).strip()
    return DEPTH_MODEL if spec == "realsense" or Path(spec).suffix.lower() in REALSENSE_SUFFIXES else RGB_MODEL


def default_model_file(spec: str, model: str, model_path: Path | None = None) -> Path | None:
    """The model file to run: the one named, else the one a recorded session of this model used (when it is
    still there), else None (the shipped file)."""
    if model_path is not None:
        return model_path
    recorded = recorded_engine(spec)
    path = Path(recorded["model_path"]) if recorded.get("model") == model and recorded.get("model_path") else None
    return path if path is not None and path.is_file() else None


def default_detector(spec: str, detector: str = "auto", model: str = RGB_MODEL) -> str:
    """The hand detector for a source: ``auto`` replays a recorded session with the detector it was recorded
    with; on the built-in demo it means its depth (aligned, exact, and ~25 ms cheaper than MediaPipe on a
    rendered hand) for models that can crop from it; anything else is left to the engine (the lifter reads
    MediaPipe's landmarks, so it always runs MediaPipe)."""
    from engine.estimators import estimator_class

    if detector != "auto":
        return detector
    recorded = recorded_engine(spec)
    if recorded.get("model") == model and recorded.get("detector") in estimator_class(model).detectors:
        return recorded["detector"]
    return "depth" if str(spec).strip() == "demo" and "depth" in estimator_class(model).detectors else detector


def live_engine_options(spec: str, model: str | None = None, model_path: Path | None = None,
                        detector: str = "auto", **options) -> EngineOptions:
    """The engine a run on ``spec`` uses, in one place for ``run``, the app and ``bench``: the model, its file and
    the detector the source calls for unless named (a recorded session's own), and the caller's other
    ``EngineOptions`` (hands, providers, threads, calibration, ...)."""
    model = model or default_model(spec)
    return EngineOptions(model=model, model_path=default_model_file(spec, model, model_path),
                         detector=default_detector(spec, detector, model), **options)


def open_source(spec: str, *, realtime: bool = True, loop: bool | None = None,
                intrinsics: CameraIntrinsics | None = None, queue_size: int = 2,
                demo_kind: str = "rgbd") -> CaptureSource:
    """A capture source for ``spec`` (not yet started).

    ``spec`` is ``demo`` (built-in synthetic hand), a webcam index (``0``), a video file,
    ``realsense`` (live camera, colour + aligned depth), a ``.bag``/``.db3`` RealSense recording,
    a session folder written by ``handstream run --record``, or photos: an image file, a folder of
    images or a glob (``'shots/*.jpg'``). ``realtime=False`` plays files and
    recordings as fast as the consumer reads them, losslessly. ``loop`` repeats finite sources
    (default: only the demo loops). ``intrinsics`` overrides the source's own (e.g. a calibration).
    """
    spec = str(spec).strip()
    if not spec:
        raise ValueError("--source is empty: give demo, a webcam index, a video file, realsense, "
                         "a .bag/.db3 recording or a session folder")
    if spec == "demo":
        return DemoSource(realtime=realtime, loop=True if loop is None else loop, kind=demo_kind,
                          queue_size=queue_size)
    if spec.isdigit():
        return OpenCVSource(int(spec), intrinsics=intrinsics, queue_size=queue_size)
    if spec == "realsense":
        return RealSenseSource(None, realtime=True, queue_size=queue_size)
    path = Path(spec).expanduser()
    if path.is_dir() and ((path / "manifest.json").is_file() or (path / TABLE_FILE).is_file()):
        return SessionSource(path, realtime=realtime)  # a damaged manifest still replays its frames
    photos = image_files(spec)
    if photos or path.is_dir():
        return ImageSource(photos, spec, intrinsics=intrinsics, queue_size=queue_size)
    if not path.exists():
        raise FileNotFoundError(f"source {spec} does not exist (expected demo, a webcam index, a video "
                                "file, realsense, a .bag/.db3 recording, a session folder or images)")
    suffix = path.suffix.lower()
    if suffix in REALSENSE_SUFFIXES:
        return RealSenseSource(path, realtime=realtime, queue_size=queue_size)
    if suffix in VIDEO_SUFFIXES:
        return OpenCVSource(path, realtime=realtime, loop=bool(loop), intrinsics=intrinsics,
                            queue_size=queue_size)
    raise ValueError(f"source {spec}: unsupported file type '{suffix}' (video: "
                     f"{', '.join(VIDEO_SUFFIXES)}; RealSense: .bag, .db3; images: {', '.join(IMAGE_SUFFIXES)})")
