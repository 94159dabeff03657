"""The streaming engine: frames in, tracked hands with 3-D joints, mesh and shape out.

Why streaming: both models are recurrent (SeqHAND-Net's ConvLSTM, CADSTN's LSTM). Each tracked hand
keeps its own recurrent state from frame to frame; the state starts fresh when a hand is new, was
lost for ``lost_after`` frames, or jumped (a different hand probably took its place).

The engine owns what every model shares — detection, tracks, recurrent state, the shape lock, timings;
what differs per model kind is its estimator (``engine.estimators``).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calibration.intrinsics import CameraIntrinsics, webcam_intrinsics
from engine.estimators import KINDS, FrameContext, estimator_class
from engine.frames import Frame
from engine.options import EngineOptions
from engine.results import FrameResult, StageTimings
from engine.runtime import ModelSession
from engine.tracks import Detection, Track, TrackSet

log = logging.getLogger("handstream.engine")
DETECTORS = ("mediapipe", "depth")


def default_model_path(model: str) -> Path:
    """Where the shipped model of ``model`` lives: ``weights/<model>_compact.onnx`` (``models.shipped``)."""
    from models.shipped import shipped_file

    return shipped_file(f"{model}_compact.onnx")


@dataclass
class DetectedFrame:
    """A frame after the engine's first stage (``StreamingEngine.detect``): its camera, the hands the detector
    found (``None``: ``finish`` detects, for kinds that follow their own predictions), the detector's time
    and the whole stage's, in ms; ``capture_ms``: how long a detect-ahead thread waited for the frame."""

    frame: Frame
    intrinsics: CameraIntrinsics
    detections: list[Detection] | None
    detect_ms: float = 0.0
    stage_ms: float = 0.0
    capture_ms: float = 0.0


@dataclass
class ShapeReport:
    """What locking the shape did: mean per-frame L2 change of beta before the lock (over the last
    ``shape_window`` frames) and since the lock (zero when the lock holds)."""

    locked: bool
    change_before: float
    change_after: float
    locked_beta: dict[int, np.ndarray]


class StreamingEngine:
    """Runs detection, cropping, the recurrent model and the hand model on each frame.

    ``process`` is called from one thread (the pipeline's); ``lock_shape``, ``unlock_shape`` and
    ``reset`` may be called from any other thread (e.g. the GUI) and take effect on the next frame.
    Left hands are mirrored into the right-hand model; their joints and vertices come back mirrored
    (draw a left hand's mesh with the faces' winding reversed, ``faces[:, ::-1]``).
    """

    def __init__(self, options: EngineOptions | None = None) -> None:
        o = self.options = options or EngineOptions()
        kind = estimator_class(o.model)
        if o.max_hands < 1:
            raise ValueError(f"max_hands must be at least 1, got {o.max_hands}")
        if o.threads < 1:
            raise ValueError(f"--threads must be at least 1, got {o.threads}")
        if o.detector not in ("auto", *DETECTORS):
            raise ValueError(f"detector must be auto, mediapipe or depth, got {o.detector!r}")
        self.detector_kind = kind.detectors[0] if o.detector == "auto" else o.detector
        if self.detector_kind not in kind.detectors:
            raise ValueError(f"{o.model} cannot crop from the {self.detector_kind} detector "
                             f"(it works with {' or '.join(kind.detectors)})")
        self._lock = threading.RLock()
        self._detect_lock = threading.Lock()  # the detector: used by detect (perhaps on its own thread) and close
        self._closed = False
        self._rgb_detector = None
        self._background = None
        self._depth_detector = None
        self._calibration: CameraIntrinsics | None = None
        if o.calibration is not None:
            from calibration.storage import load_calibration

            self._calibration = load_calibration(Path(o.calibration))
        self.model = ModelSession(o.model_path or default_model_path(o.model), kind,
                                  providers=o.providers, threads=o.threads)
        # an RGB-D model (it reads a colour detector's landmarks): MediaPipe on frames with colour, the depth
        # detector on frames without (a depth-only source still works)
        rgbd = o.detector == "auto" and "heatmaps" in self.model.info.input_names and "depth" in kind.detectors
        if rgbd:
            self.detector_kind = "mediapipe"
        if self.detector_kind == "mediapipe":
            from engine.detect_rgb import MediaPipeHandDetector

            self._rgb_detector = MediaPipeHandDetector(o.detector_path, o.max_hands, o.min_confidence,
                                                       stills=o.stills)
            if o.background_detection and not o.stills and kind.follows_predictions:
                from engine.detect_rgb import BackgroundDetector

                self._background = BackgroundDetector(self._rgb_detector)
        if self.detector_kind == "depth" or rgbd:
            from engine.detect_depth import DepthDetectorOptions, DepthHandDetector

            self._depth_detector = DepthHandDetector(
                o.max_hands, DepthDetectorOptions(cube_mm=self.model.info.cube_mm))
        try:
            self.estimator = kind(self.model, o)
        except Exception:
            self.close()
            raise
        self.tracks = TrackSet(o.max_hands, o.lost_after, o.jump_fraction, o.shape_window)
        log.info("engine: %s model %s on %s, detector %s, up to %d hand(s)", o.model, self.model.info.path,
                 ", ".join(self.providers), self.detector_kind, o.max_hands)
        self._locked: dict[int, np.ndarray] = {}
        self._lock_default: np.ndarray | None = None
        self._changes_before: deque[float] = deque(maxlen=o.shape_window)
        self._after_sum, self._after_count = 0.0, 0  # a running mean: a long locked run stays small
        self._frozen_before = 0.0
        self._since_detection = 0

    # -- public ---------------------------------------------------------------------------------
    @property
    def providers(self) -> list[str]:
        """The ONNX Runtime execution providers in use, best first."""
        return list(self.model.providers)

    @property
    def shape_locked(self) -> bool:
        return self._lock_default is not None

    @property
    def detects_ahead(self) -> bool:
        """Whether ``detect`` of the next frame may run on another thread while ``finish`` runs this one
        (``engine.ahead``): a detector on every frame (MediaPipe, or the depth detector, which overlaps the
        model's inferences in ONNX Runtime outside the GIL), for a kind whose detection reads no track (not one
        that follows its own predictions), unless ``detect_ahead`` is off."""
        return self.options.detect_ahead and self._background is None and not self.estimator.follows_predictions

    def process(self, frame: Frame) -> FrameResult:
        """Every hand in ``frame`` (at most ``max_hands``), with stage timings in milliseconds."""
        return self.finish(self.detect(frame))

    def detect(self, frame: Frame) -> DetectedFrame:
        """The first stage of ``process``: the frame's camera and, unless the kind follows its own predictions
        (then ``finish`` decides whether to detect), its hands as the detector finds them. Call it in frame
        order from one thread; it reads no track, so it may run while ``finish`` runs the previous frame."""
        start = time.perf_counter()
        intrinsics = self._intrinsics(frame)
        self.estimator.check(frame)
        detections, t0 = None, time.perf_counter()
        if not self.estimator.follows_predictions:
            detections = self._detect(frame, intrinsics)
        done = time.perf_counter()
        return DetectedFrame(frame, intrinsics, detections, (done - t0) * 1000.0, (done - start) * 1000.0)

    def finish(self, detected: DetectedFrame) -> FrameResult:
        """The second stage of ``process``: tracks, the model on each hand, the result. Call it in frame order
        from one thread (the recurrent state runs on from the previous frame's)."""
        start = time.perf_counter()
        frame, intrinsics = detected.frame, detected.intrinsics
        with self._lock:
            if self._closed:
                raise RuntimeError("the engine was closed")
            timings = StageTimings(detect_ms=detected.detect_ms)
            if self.options.stills:
                self.reset()
            if detected.detections is None:
                t0 = time.perf_counter()
                work = self._hands_to_run(frame, intrinsics)
                timings.detect_ms = (time.perf_counter() - t0) * 1000.0
            else:
                work = self._matched(detected.detections)
            context = FrameContext(frame, intrinsics, timings, self._shape)
            hands = [hand for track, det in work
                     if (hand := self.estimator.estimate(track, det, context)) is not None]
            timings.total_ms = detected.stage_ms + (time.perf_counter() - start) * 1000.0
            return FrameResult(frame_index=frame.index, timestamp=frame.timestamp, hands=hands,
                               timings=timings, shape_locked=self.shape_locked)

    def lock_shape(self) -> ShapeReport:
        """Fix each tracked hand's beta to its mean over the last ``shape_window`` frames.

        Hands that appear while the lock holds get the mean of the locked betas (same person).
        """
        with self._lock:
            if not self.estimator.estimates_shape:
                shaped = ", ".join(k for k, c in KINDS.items() if c.estimates_shape)
                raise ValueError(f"shape lock needs a model that estimates shape ({shaped}); "
                                 f"{self.options.model} predicts joints only")
            locked = {t.track_id: np.mean(np.stack(t.betas), axis=0).astype(np.float32)
                      for t in self.tracks.tracks if t.betas}
            if not locked:
                raise ValueError("no hand is tracked yet: show a hand before locking its shape")
            self._locked = locked
            self._lock_default = np.mean(np.stack(list(locked.values())), axis=0).astype(np.float32)
            self._frozen_before = float(np.mean(self._changes_before)) if self._changes_before else 0.0
            self._after_sum, self._after_count = 0.0, 0
            return self.shape_report()

    def unlock_shape(self) -> ShapeReport:
        """Let beta follow the model again."""
        with self._lock:
            report = self.shape_report()
            self._locked = {}
            self._lock_default = None
            self._changes_before.clear()
            return report

    def shape_report(self) -> ShapeReport:
        """Beta's mean frame-to-frame change before the lock and since it."""
        with self._lock:
            before = self._frozen_before if self.shape_locked else (
                float(np.mean(self._changes_before)) if self._changes_before else 0.0)
            after = self._after_sum / self._after_count if self._after_count else 0.0
            return ShapeReport(self.shape_locked, before, after, dict(self._locked))

    def reset(self) -> None:
        """Forget all tracks and recurrent state (the shape lock is kept)."""
        with self._lock:
            self.tracks.reset()
            self._since_detection = 0

    def describe(self) -> dict:
        """What a recording keeps of this engine (its manifest's ``engine``), so that a replay can run the same."""
        return {"model": self.options.model, "model_path": str(self.model.info.path), "detector": self.detector_kind,
                "providers": self.providers}

    def close(self) -> None:
        """Release the detector (MediaPipe wants an explicit close; after a detection still running on another
        thread) and the ONNX Runtime session."""
        with self._lock, self._detect_lock:
            if self._closed:
                return
            self._closed = True
            if self._background is not None:
                self._background.close()  # closes the detector it wraps
            elif self._rgb_detector is not None:
                self._rgb_detector.close()

    def __enter__(self) -> StreamingEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- shared steps ----------------------------------------------------------------------------
    def _intrinsics(self, frame: Frame) -> CameraIntrinsics:
        """The frame's camera: the calibration (scaled to the frame's size if the stream is resized; another
        aspect ratio is a one-line error), else the frame's own, else a webcam's field of view."""
        image = frame.rgb if frame.rgb is not None else frame.depth
        if image is None:
            raise ValueError(f"frame {frame.index} has neither colour nor depth")
        if self._calibration is not None:
            return self._calibration.for_image(image.shape[1], image.shape[0])
        if frame.intrinsics is not None:
            return frame.intrinsics
        return webcam_intrinsics(image.shape[1], image.shape[0])

    def _detect(self, frame: Frame, intrinsics: CameraIntrinsics) -> list[Detection]:
        with self._detect_lock:  # not under the engine's lock: it may run beside finish (detect ahead)
            if self._closed:
                raise RuntimeError("the engine was closed")
            if self._rgb_detector is not None and (frame.rgb is not None or self._depth_detector is None):
                if frame.rgb is None:
                    raise ValueError(f"frame {frame.index} has no colour image for the MediaPipe detector")
                found, used = self._rgb_detector.detect(frame.rgb, frame.timestamp), "mediapipe"
            else:
                if frame.depth is None:
                    raise ValueError(f"frame {frame.index} has no depth image for the depth detector "
                                     "(use --model seqhand with a colour source)")
                found, used = self._depth_detector.detect(frame.depth, intrinsics.fx, intrinsics.fy), "depth"
        return self.estimator.place(found, used, frame)

    def _matched(self, detections: list[Detection]) -> list[tuple[Track, Detection]]:
        """The tracks of this frame's detections (kinds that detect on every frame); the others missed it."""
        matched, missing = self.tracks.match(detections)
        for track in missing:
            self.estimator.missed(track)
        return matched

    def _hands_to_run(self, frame: Frame, intrinsics: CameraIntrinsics) -> list[tuple[Track, Detection | None]]:
        """The tracks to run the model on this frame, each with its detection, or ``None`` when it
        follows its own prediction (kinds that can, between detections)."""
        if not self.estimator.follows_predictions:
            return self._matched(self._detect(frame, intrinsics))
        o = self.options
        tracks = self.tracks.tracks
        detect = (self.detector_kind == "depth" or not tracks
                  or any(t.confidence < o.min_tracking_confidence for t in tracks)
                  or self._since_detection >= o.redetect_every)
        detections = None
        if self._background is not None:
            if detect and self._background.submit(frame.index, frame.rgb, frame.timestamp):
                self._since_detection = 0
            else:
                self._since_detection += 1
            finished = self._background.poll()
            if finished is not None:
                detections = self.estimator.place(finished[1], self.detector_kind, frame)
        elif detect:
            self._since_detection = 0
            detections = self._detect(frame, intrinsics)
        else:
            self._since_detection += 1
        work: list[tuple[Track, Detection | None]] = []
        if detections is not None:
            matched, missing = self.tracks.match(detections)
            for track in missing:
                self.estimator.missed(track)
            work.extend(matched)
        for track in self.tracks.tracks:  # the others follow their own predictions
            if all(t is not track for t, _ in work) and track.missed == 0 and track.landmarks is not None:
                work.append((track, None))
        return work

    def _shape(self, track: Track, beta_raw: np.ndarray) -> tuple[np.ndarray, float]:
        """The beta to report (locked or raw) and its change since the track's previous frame."""
        track.betas.append(beta_raw)
        if self.shape_locked:
            beta = self._locked.setdefault(track.track_id, self._lock_default)
        else:
            beta = beta_raw
        change = 0.0 if track.last_beta is None else float(np.linalg.norm(beta - track.last_beta))
        # the step into or out of the lock is reported per frame but kept out of the before/after means
        if track.last_beta is not None and track.lock_state == self.shape_locked:
            if self.shape_locked:
                self._after_sum, self._after_count = self._after_sum + change, self._after_count + 1
            else:
                self._changes_before.append(change)
        track.lock_state = self.shape_locked
        track.last_beta = beta
        return beta, change
