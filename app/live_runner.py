"""The glue between the window and the engine: source → engine → pipeline (worker thread) →
newest result for the GUI, plus the optional session recorder.

Why "newest result" and a payload-free signal: the pipeline thread must never wait for the GUI. Each
result replaces the previous one in a one-slot mailbox and the GUI is poked only when the mailbox
was empty, so a busy GUI skips stale frames instead of building a queue of them.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from PyQt6.QtCore import QObject, pyqtSignal

from engine.frames import Frame
from engine.results import FrameResult

MODEL_LABELS = {"lifter": "Keypoint lifter (RGB)", "seqhand": "SeqHAND-Net (RGB)", "cadstn": "CADSTN (depth)"}


@dataclass
class LiveOptions:
    """What to run. ``detector`` ``auto``: see ``engine.sources.default_detector``."""

    source: str = "demo"
    model: str = "lifter"
    model_path: Path | None = None
    detector: str = "auto"
    hand_model_path: Path | None = None
    max_hands: int = 2
    calibration: Path | None = None
    depth_placer: bool = True  # cadstn: the placer beside its file (engine.options.EngineOptions.depth_placer)


class LiveRunner(QObject):
    """Starts and stops one live run; thread-safe hand-over of results to the GUI thread.

    ``result_ready`` is emitted (from the pipeline thread; Qt queues it to the GUI) when a new result
    is waiting in ``take_latest()``.
    """

    result_ready = pyqtSignal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.options: LiveOptions | None = None
        self.source = None
        self.engine = None
        self.pipeline = None
        self.recorder = None
        self._latest: tuple[Frame, FrameResult] | None = None
        self._mailbox = threading.Lock()
        self._rec_lock = threading.Lock()

    # -- running ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.pipeline is not None and self.pipeline.running

    def start(self, options: LiveOptions) -> None:
        """Open the source, load the model, start the worker; user errors raise ValueError/OSError."""
        from engine.pipeline import Pipeline
        from engine.sources import live_engine_options, open_source
        from engine.stream import StreamingEngine

        self.stop()
        engine_options = live_engine_options(options.source, options.model, options.model_path, options.detector,
                                             max_hands=options.max_hands, hand_model_path=options.hand_model_path,
                                             calibration=options.calibration, depth_placer=options.depth_placer,
                                             background_detection=True)  # live: never wait for MediaPipe
        intrinsics = None
        if options.calibration is not None:  # the source reports (and a recording keeps) the camera the engine uses
            from calibration.storage import load_calibration

            intrinsics = load_calibration(options.calibration)
        source = open_source(options.source, intrinsics=intrinsics)
        engine = StreamingEngine(engine_options)
        pipeline = Pipeline(source, engine, self._on_result)
        try:
            pipeline.start()
        except BaseException:
            engine.close()
            source.stop()
            raise
        self.options, self.source, self.engine, self.pipeline = options, source, engine, pipeline

    def stop(self) -> None:
        """Stop the worker and the source, close the recording and the engine."""
        if self.pipeline is not None:
            self.pipeline.stop()
        self.stop_recording()
        if self.engine is not None:
            self.engine.close()
        self.pipeline = self.engine = self.source = None
        with self._mailbox:
            self._latest = None

    def take_latest(self) -> tuple[Frame, FrameResult] | None:
        """The newest (frame, result) not yet taken, or None."""
        with self._mailbox:
            latest, self._latest = self._latest, None
        return latest

    def stats(self):
        """The pipeline's ``PipelineStats`` or None when nothing runs."""
        return None if self.pipeline is None else self.pipeline.stats()

    # -- recording ---------------------------------------------------------------------------------
    def start_recording(self, out_dir: Path) -> Path:
        """Record the running session into the new folder ``out_dir``."""
        from engine.recording import SessionRecorder

        if self.source is None or self.engine is None:
            raise ValueError("start the source before recording")
        recorder = SessionRecorder(out_dir, source=self.options.source, intrinsics=self.source.intrinsics,
                                   engine=self.engine.describe())
        with self._rec_lock:
            self.recorder = recorder
        return recorder.path

    def stop_recording(self):
        """Finish the recording (writes what is queued); returns its final status or None."""
        with self._rec_lock:
            recorder, self.recorder = self.recorder, None
        return None if recorder is None else recorder.close()

    # -- pipeline thread ---------------------------------------------------------------------------
    def _on_result(self, frame: Frame, result: FrameResult) -> None:
        with self._rec_lock:
            recorder = self.recorder
        if recorder is not None:
            recorder.write(frame, result)
        with self._mailbox:
            was_empty = self._latest is None
            self._latest = (frame, result)
        if was_empty:
            self.result_ready.emit()


def session_folder(root: Path) -> Path:
    """A new, time-stamped session folder name under ``root``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = root / f"session-{stamp}"
    n = 1
    while path.exists():
        n += 1
        path = root / f"session-{stamp}-{n}"
    return path
