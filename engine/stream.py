"""The streaming engine: frames in, tracked hands with 3-D joints, mesh and shape out.

Why streaming: both models are recurrent (SeqHAND-Net's ConvLSTM, CADSTN's LSTM). Each tracked hand
keeps its own recurrent state from frame to frame; the state starts fresh when a hand is new, was
lost for ``lost_after`` frames, or jumped (a different hand probably took its place).
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calibration.intrinsics import CameraIntrinsics
from calibration.projection import pixel_to_camera_mm, project_mm
from calibration.weak_perspective import weak_perspective_to_camera
from engine.crop import CROP_SCALE, CropBox, crop_image, crop_to_image, square_box
from engine.frames import Frame
from engine.results import FrameResult, HandResult, StageTimings
from engine.runtime import ModelSession
from engine.tracks import Detection, Track, TrackSet

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
HAND_BOX_MM = 180.0  # a hand's extent: turns a depth detection into the hand box the RGB crop rule wants
MODEL_KINDS = ("seqhand", "cadstn")


def default_model_path(model: str) -> Path:
    """Where the shipped model of ``model`` lives: ``weights/<model>_compact.onnx``."""
    return WEIGHTS_DIR / f"{model}_compact.onnx"


@dataclass
class EngineOptions:
    """How the engine runs. ``None`` paths mean the shipped files in ``weights/``.

    ``detector``: ``auto`` (MediaPipe on colour for SeqHAND-Net; depth segmentation for CADSTN),
    ``mediapipe`` or ``depth`` (nearest-blob segmentation, also usable to place SeqHAND-Net crops
    when the frames carry aligned depth). ``redetect_every``: while a hand is tracked from its own
    predictions the detector still runs at least this often (MediaPipe costs ~25-30 ms here, so not
    every frame). ``min_confidence``: the detector's threshold; ``min_tracking_confidence``: below it
    a hand tracked from its own predictions is re-detected on the next frame. ``lost_after``: frames without a hand before its track and state are dropped.
    ``jump_fraction``: a crop centre moving more than this fraction of the crop size in one frame
    restarts that track's recurrent state. ``shape_window``: K frames averaged by ``lock_shape``.
    ``background_detection``: run MediaPipe on its own thread (live cameras: no frame waits for it;
    results then depend on timing, so keep it off where runs must be reproducible).
    ``depth_recentre``: CADSTN crops re-cut this often around the joints the network finds in the
    previous cut (each costs one more inference; `handstream eval --model cadstn --live com` shows the gain).
    ``stills``: frames are unrelated photos: MediaPipe runs in IMAGE mode and every frame starts with no
    tracks and fresh recurrent state (one image = one fresh sequence).
    """

    model: str = "seqhand"
    model_path: Path | None = None
    max_hands: int = 2
    providers: tuple[str, ...] | None = None
    calibration: Path | None = None
    detector: str = "auto"
    detector_path: Path | None = None
    hand_model_path: Path | None = None
    redetect_every: int = 10
    min_confidence: float = 0.5
    min_tracking_confidence: float = 0.3
    lost_after: int = 5
    jump_fraction: float = 0.5
    shape_window: int = 30
    vertices: bool = True
    threads: int = 1
    background_detection: bool = False
    depth_recentre: int = 1
    stills: bool = False


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
        if o.model not in MODEL_KINDS:
            raise ValueError(f"--model must be one of {', '.join(MODEL_KINDS)}, got {o.model!r}")
        if o.max_hands < 1:
            raise ValueError(f"max_hands must be at least 1, got {o.max_hands}")
        if o.detector not in ("auto", "mediapipe", "depth"):
            raise ValueError(f"detector must be auto, mediapipe or depth, got {o.detector!r}")
        self._lock = threading.RLock()
        self._closed = False
        self._rgb_detector = None
        self._background = None
        self._calibration: CameraIntrinsics | None = None
        if o.calibration is not None:
            from calibration.storage import load_calibration

            self._calibration = load_calibration(Path(o.calibration))
        self.model = ModelSession(o.model_path or default_model_path(o.model), o.model,
                                  providers=o.providers, threads=o.threads)
        self.detector_kind = ("mediapipe" if o.model == "seqhand" else "depth") if o.detector == "auto" \
            else o.detector
        self._depth_detector = None
        if self.detector_kind == "mediapipe":
            from engine.detect_rgb import MediaPipeHandDetector

            self._rgb_detector = MediaPipeHandDetector(o.detector_path, o.max_hands, o.min_confidence,
                                                       stills=o.stills)
            if o.background_detection and not o.stills:
                from engine.detect_rgb import BackgroundDetector

                self._background = BackgroundDetector(self._rgb_detector)
        else:
            from engine.detect_depth import DepthHandDetector, DepthDetectorOptions

            self._depth_detector = DepthHandDetector(
                o.max_hands, DepthDetectorOptions(cube_mm=self.model.info.cube_mm))
        self._hand_model = None
        try:
            if o.model == "seqhand":
                self._hand_model = self._load_hand_model()
        except Exception:
            self.close()
            raise
        self.tracks = TrackSet(o.max_hands, o.lost_after, o.jump_fraction, o.shape_window)
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

    def process(self, frame: Frame) -> FrameResult:
        """Every hand in ``frame`` (at most ``max_hands``), with stage timings in milliseconds."""
        start = time.perf_counter()
        with self._lock:
            if self._closed:
                raise RuntimeError("the engine was closed")
            timings = StageTimings()
            if self.options.stills:
                self.reset()
            intrinsics = self._intrinsics(frame)
            if self.options.model == "seqhand":
                hands = self._process_rgb(frame, intrinsics, timings)
            else:
                hands = self._process_depth(frame, intrinsics, timings)
            timings.total_ms = (time.perf_counter() - start) * 1000.0
            return FrameResult(frame_index=frame.index, timestamp=frame.timestamp, hands=hands,
                               timings=timings, shape_locked=self.shape_locked)

    def lock_shape(self) -> ShapeReport:
        """Fix each tracked hand's beta to its mean over the last ``shape_window`` frames.

        Hands that appear while the lock holds get the mean of the locked betas (same person).
        """
        with self._lock:
            if self.options.model != "seqhand":
                raise ValueError("shape lock needs a model that estimates shape (seqhand); "
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

    def close(self) -> None:
        """Release the detector (MediaPipe wants an explicit close) and the ONNX Runtime session."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._background is not None:
                self._background.close()  # closes the detector it wraps
            elif self._rgb_detector is not None:
                self._rgb_detector.close()

    def __enter__(self) -> "StreamingEngine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- shared steps ----------------------------------------------------------------------------
    def _load_hand_model(self):
        """The hand model the network was trained with: its PCA basis and shape space give θ and β
        their meaning, so a different active model (e.g. MANO via --mano-dir) is refused."""
        from models.hand_model import load_hand_model

        hand = load_hand_model(self.options.hand_model_path)
        trained = self.model.info.hand_model
        active = hand.path.name if getattr(hand, "path", None) is not None else str(getattr(hand, "name", ""))
        if trained and active and trained != active:
            raise ValueError(f"{self.model.info.path.name} was trained with hand model {trained}, but {active} "
                             "is active (check --mano-dir / HANDSTREAM_MANO_DIR)")
        return hand

    def _intrinsics(self, frame: Frame) -> CameraIntrinsics:
        if self._calibration is not None:
            return self._calibration
        if frame.intrinsics is not None:
            return frame.intrinsics
        image = frame.rgb if frame.rgb is not None else frame.depth
        if image is None:
            raise ValueError(f"frame {frame.index} has neither colour nor depth")
        from engine.capture import webcam_intrinsics

        return webcam_intrinsics(image.shape[1], image.shape[0])

    def _detect(self, frame: Frame, intrinsics: CameraIntrinsics) -> list[Detection]:
        if self._rgb_detector is not None:
            if frame.rgb is None:
                raise ValueError(f"frame {frame.index} has no colour image for the MediaPipe detector")
            found = self._rgb_detector.detect(frame.rgb, frame.timestamp)
            if self.options.model == "cadstn":
                found = [d for d in found if self._place_on_depth(d, frame)]
            return found
        if frame.depth is None:
            raise ValueError(f"frame {frame.index} has no depth image for the depth detector "
                             "(use --model seqhand with a colour source)")
        found = self._depth_detector.detect(frame.depth, intrinsics.fx, intrinsics.fy)
        if self.options.model == "seqhand":
            for det in found:  # the depth cube is wider than the hand; the crop rule wants a hand box
                det.size = det.size * HAND_BOX_MM / self.model.info.cube_mm
        return found

    @staticmethod
    def _place_on_depth(det: Detection, frame: Frame) -> bool:
        """RGB-D with the MediaPipe box: the hand's depth is the median reading under its landmarks."""
        if frame.depth is None:
            raise ValueError(f"frame {frame.index} has no depth image; cadstn needs depth")
        h, w = frame.depth.shape
        pts = np.rint(det.landmarks).astype(np.int64)
        ok = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
        readings = frame.depth[pts[ok, 1], pts[ok, 0]]
        readings = readings[readings > 0]
        if readings.size < 5:
            return False  # no depth under the hand: nothing to crop
        det.centre_uvz = np.array([det.centre[0], det.centre[1], float(np.median(readings))])
        return True

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

    # -- RGB: SeqHAND-Net --------------------------------------------------------------------------
    def _process_rgb(self, frame: Frame, intrinsics: CameraIntrinsics, timings: StageTimings) -> list[HandResult]:
        o = self.options
        if frame.rgb is None:
            raise ValueError(f"frame {frame.index} has no colour image; seqhand needs RGB")
        tracks = self.tracks.tracks
        detect = (self.detector_kind == "depth" or not tracks
                  or any(t.confidence < o.min_tracking_confidence for t in tracks)
                  or self._since_detection >= o.redetect_every)
        work: list[tuple[Track, CropBox, bool]] = []  # (track, crop, placed by a detection)
        t0 = time.perf_counter()
        detections = None
        if self._background is not None:
            if detect and self._background.submit(frame.index, frame.rgb, frame.timestamp):
                self._since_detection = 0
            else:
                self._since_detection += 1
            finished = self._background.poll()
            detections = None if finished is None else finished[1]
        elif detect:
            self._since_detection = 0
            detections = self._detect(frame, intrinsics)
        else:
            self._since_detection += 1
        if detections is not None:
            matched, missing = self.tracks.match(detections)
            for track in missing:
                track.confidence = 0.0  # not seen by the detector: look again on the next frame
            for track, det in matched:
                pts = det.landmarks if det.landmarks is not None else \
                    np.array([det.centre - det.size / 2, det.centre + det.size / 2])
                work.append((track, square_box(pts, mirrored=track.handedness == "left"), True))
        for track in self.tracks.tracks:  # the others follow their own predictions
            if all(t is not track for t, _, _ in work) and track.missed == 0 and track.landmarks is not None:
                work.append((track, square_box(track.landmarks, mirrored=track.handedness == "left"), False))
        t1 = time.perf_counter()
        timings.detect_ms = (t1 - t0) * 1000.0
        size = self.model.info.input_size
        hands = []
        for track, box, detected in work:
            c0 = time.perf_counter()
            crop = crop_image(frame.rgb, box, size)
            image = np.ascontiguousarray(crop.transpose(2, 0, 1)[None], np.float32) * (1.0 / 255.0)
            c1 = time.perf_counter()
            outputs, track.state = self.model.step({"image": image}, track.state or self.model.zero_state())
            c2 = time.perf_counter()
            hand = self._seqhand_result(track, box, outputs["params"][0], frame, intrinsics, detected)
            if hand is not None:
                hands.append(hand)
            c3 = time.perf_counter()
            timings.crop_ms += (c1 - c0) * 1000.0
            timings.inference_ms += (c2 - c1) * 1000.0
            timings.hand_model_ms += (c3 - c2) * 1000.0
        return hands

    def _seqhand_result(self, track: Track, box: CropBox, params: np.ndarray, frame: Frame,
                        intrinsics: CameraIntrinsics, detected: bool) -> HandResult | None:
        from models.hand_model import rodrigues

        params = params.astype(np.float64)
        if not (np.all(np.isfinite(params)) and params[20] > 0):
            track.confidence = 0.0  # no usable camera: re-detect on the next frame
            return None
        theta = params[0:10]
        beta, change = self._shape(track, params[10:20].astype(np.float32))
        s, t, r = params[20], params[21:23], params[23:26]
        out = self._hand_model.forward(theta[None], beta[None].astype(np.float64))
        rot = rodrigues(r)
        joints = out.joints[0] @ rot.T            # metres, hand-model origin, camera axes
        verts = out.vertices[0] @ rot.T if self.options.vertices and out.vertices is not None else None
        uv = s * joints[:, :2] + t                # crop coordinates in [-1, 1]
        joints_2d = crop_to_image(uv, box)
        if box.mirrored:  # the model saw a mirrored right hand: mirror the 3-D result back
            joints = joints * np.array([-1.0, 1.0, 1.0])
            verts = None if verts is None else verts * np.array([-1.0, 1.0, 1.0])
        depth = frame.depth if frame.depth is not None and frame.depth.shape == (
            intrinsics.height, intrinsics.width) else None
        placed = weak_perspective_to_camera(joints, s, t, (box.cx, box.cy), box.size, intrinsics,
                                            depth, mirrored=box.mirrored)
        joints_mm = placed.joints_mm
        verts_mm = None if verts is None else (verts * 1000.0 + placed.translation_mm).astype(np.float32)
        # tracking confidence: the detector's score, decayed when the predicted hand leaves its crop
        inside = np.mean(np.all(np.abs(uv) < 1.0, axis=1))
        new_box = square_box(joints_2d)
        moved = np.linalg.norm(np.array([new_box.cx - box.cx, new_box.cy - box.cy])) / box.size
        grew = abs(np.log(max(new_box.size, 1e-6) / box.size))
        plausible = float(inside) * float(np.exp(-2.0 * grew)) * float(moved < self.options.jump_fraction)
        track.confidence *= max(plausible, 0.5) if detected else plausible
        track.landmarks = joints_2d
        track.centre = np.array([new_box.cx, new_box.cy])
        track.size = new_box.size / CROP_SCALE
        track.age += 1
        return HandResult(track_id=track.track_id, handedness=track.handedness,
                          confidence=float(track.confidence), box=box.bounds,
                          joints_2d=joints_2d.astype(np.float32), joints_3d=joints_mm.astype(np.float32),
                          vertices=verts_mm, theta=theta.astype(np.float32), beta=beta.astype(np.float32),
                          camera=params[20:26].astype(np.float32), beta_change=change)

    # -- depth: CADSTN ---------------------------------------------------------------------------
    def _depth_feeds(self, crop) -> dict[str, np.ndarray]:
        """A depth crop as the CADSTN model's inputs (the sliced volume too, for models that take it)."""
        from models import depth_crop

        feeds = {"depth": crop.depth[None, None].astype(np.float32)}
        if "volume" in self.model.info.input_names:
            feeds["volume"] = depth_crop.sliced_volume(crop.depth)[None].astype(np.float32)
        return feeds

    def _process_depth(self, frame: Frame, intrinsics: CameraIntrinsics, timings: StageTimings) -> list[HandResult]:
        from models import depth_crop

        if frame.depth is None:
            raise ValueError(f"frame {frame.index} has no depth image; cadstn needs depth")
        t0 = time.perf_counter()
        matched, _ = self.tracks.match(self._detect(frame, intrinsics))
        timings.detect_ms = (time.perf_counter() - t0) * 1000.0
        info = self.model.info
        hands = []
        for track, det in matched:
            c0 = time.perf_counter()
            centre_mm = pixel_to_camera_mm(det.centre_uvz, intrinsics)
            state = track.state or self.model.zero_state()
            looked = [0.0]

            def predict(crop: depth_crop.DepthCrop) -> np.ndarray:  # a look only: the state stays
                t = time.perf_counter()
                joints = self.model.step(self._depth_feeds(crop), state)[0]["joints"][0]
                looked[0] += time.perf_counter() - t
                return joints

            crop = depth_crop.recentred_crop(frame.depth, centre_mm, intrinsics, predict, self.options.depth_recentre,
                                             cube_mm=info.cube_mm, size=info.crop_size, upright=info.upright)
            c1 = time.perf_counter()
            outputs, track.state = self.model.step(self._depth_feeds(crop), state)
            c2 = time.perf_counter()
            joints_mm = depth_crop.joints_to_camera_mm(outputs["joints"][0], crop)
            joints_2d = project_mm(joints_mm, intrinsics)
            track.age += 1
            track.landmarks = joints_2d
            hands.append(HandResult(
                track_id=track.track_id, handedness=track.handedness, confidence=float(det.score),
                box=crop.box,
                joints_2d=joints_2d.astype(np.float32), joints_3d=joints_mm.astype(np.float32)))
            timings.crop_ms += (c1 - c0 - looked[0]) * 1000.0
            timings.inference_ms += (c2 - c1 + looked[0]) * 1000.0
        return hands

