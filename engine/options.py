"""How the streaming engine runs: the options every caller sets (the CLI, the app, benchmarks, evaluation)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class EngineOptions:
    """How the engine runs. ``None`` paths mean the shipped files in ``weights/``.

    ``model``: a kind of ``engine.estimators.KINDS`` (default: the keypoint lifter). ``detector``: ``auto``
    (the model's own: MediaPipe on colour for the lifter and SeqHAND-Net; depth segmentation for CADSTN),
    ``mediapipe`` or ``depth`` (nearest-blob segmentation, also usable to place SeqHAND-Net crops
    when the frames carry aligned depth). ``redetect_every``: while a hand is tracked from its own
    predictions the detector still runs at least this often (not every frame: it is work the image
    model does not need). ``min_confidence``: the detector's threshold; ``min_tracking_confidence``: below it
    a hand tracked from its own predictions is re-detected on the next frame. ``lost_after``: frames
    without a hand before its track and state are dropped.
    ``jump_fraction``: a crop centre moving more than this fraction of the crop size in one frame
    restarts that track's recurrent state. ``shape_window``: K frames averaged by ``lock_shape``.
    ``background_detection``: run MediaPipe on its own thread (live cameras: no frame waits for it;
    results then depend on timing, so keep it off where runs must be reproducible).
    ``depth_recentre``: CADSTN crops re-cut this often around the joints the network finds in the
    previous cut (each costs one more inference; `handstream eval --model cadstn --live com` shows the gain).
    ``depth_placer``: CADSTN first asks the placer beside its file (``<stem>_placer.onnx``, if there is one) where
    the hand is in a crop the depth detector cut, and moves a crop cut down the arm (`engine.estimators.cadstn`).
    ``landmark_pull``: an RGB-D CADSTN's joints are moved this fraction of the way to the colour detector's landmarks
    in the image, each at the depth CADSTN gives it (0: as the network reads them; `engine.estimators.cadstn`).
    ``stills``: frames are unrelated photos: MediaPipe runs in IMAGE mode and every frame starts with no
    tracks and fresh recurrent state (one image = one fresh sequence).
    ``detect_ahead``: where frames are pulled through the engine (``Pipeline``, ``HandTracker.stream``) and the
    detector runs on every frame (the lifter, CADSTN), it detects the next frame on its own thread while the model
    finishes this one (``engine.ahead``): the same results, faster on two idle cores; off: one thread.
    """

    model: str = "lifter"
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
    depth_placer: bool = True
    landmark_pull: float = 0.25
    stills: bool = False
    detect_ahead: bool = True
