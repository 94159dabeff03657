"""The recorded-session format: its frame lines and manifest, and reading it back (``session_source`` replays it).

A session is a folder (documented in ``engine/SESSION_FORMAT.md``)::

    manifest.json   what was recorded (written before the first frame, rewritten at a clean close)
    frames.jsonl    one JSON object per line and frame: timestamp, image files, every prediction
    rgb/000000.png  colour images (lossless PNG by default, JPEG when asked for)
    depth/000000.png  depth in millimetres as lossless 16-bit PNG

Why this layout: every file is either written once (images, manifest via rename) or only appended
to (the table), and a frame's line is appended only after its images are on disk. A crash therefore
leaves at most an incomplete last line, which the reader ignores; a damaged image or line costs only
that frame. Damage is reported (``SessionReader.problems``, a logged warning naming the file) and
never stops the rest of the session from being read.
"""
from __future__ import annotations

import base64
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calibration.intrinsics import CameraIntrinsics
from engine.frames import Frame
from engine.results import FrameResult, HandResult, StageTimings

FORMAT_NAME = "handstream-session"
FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
TABLE_FILE = "frames.jsonl"
RGB_DIR = "rgb"
DEPTH_DIR = "depth"
RGB_CODECS = ("png", "jpg")

log = logging.getLogger("handstream.session")


# -- encoding one frame's line ---------------------------------------------------------------------
def _array_to_json(a: np.ndarray | None) -> list | None:
    return None if a is None else np.asarray(a, np.float32).tolist()


def _vertices_to_json(v: np.ndarray) -> dict:
    """Vertices are bulky: raw little-endian float32, base64 (exact, ~4/3 of the binary size)."""
    v = np.ascontiguousarray(v, dtype="<f4")
    return {"shape": list(v.shape), "float32_base64": base64.b64encode(v.tobytes()).decode("ascii")}


def _vertices_from_json(d: dict) -> np.ndarray:
    data = np.frombuffer(base64.b64decode(d["float32_base64"]), dtype="<f4")
    return data.reshape(d["shape"]).astype(np.float32)


def hand_to_json(hand: HandResult, vertices: bool) -> dict:
    """One hand as a JSON-ready dict; float32 values survive the round trip exactly."""
    out = {
        "track_id": int(hand.track_id),
        "handedness": str(hand.handedness),
        "confidence": float(hand.confidence),
        "box": [float(x) for x in hand.box],
        "joints_2d": _array_to_json(hand.joints_2d),
        "joints_3d": _array_to_json(hand.joints_3d),
        "theta": _array_to_json(hand.theta),
        "beta": _array_to_json(hand.beta),
        "camera": _array_to_json(hand.camera),
        "beta_change": float(hand.beta_change),
    }
    if vertices and hand.vertices is not None:
        out["vertices"] = _vertices_to_json(hand.vertices)
    return out


def hand_from_json(d: dict) -> HandResult:
    def arr(key: str) -> np.ndarray:
        return np.asarray(d[key], np.float32)

    return HandResult(
        track_id=int(d["track_id"]), handedness=str(d["handedness"]), confidence=float(d["confidence"]),
        box=tuple(float(x) for x in d["box"]), joints_2d=arr("joints_2d"), joints_3d=arr("joints_3d"),
        vertices=_vertices_from_json(d["vertices"]) if d.get("vertices") else None,
        theta=arr("theta"), beta=arr("beta"),
        camera=None if d.get("camera") is None else arr("camera"),
        beta_change=float(d.get("beta_change", 0.0)),
    )


def result_to_json(result: FrameResult, vertices: bool) -> dict:
    return {
        "frame_index": int(result.frame_index),
        "timestamp": float(result.timestamp),
        "dropped_frames": int(result.dropped_frames),
        "shape_locked": bool(result.shape_locked),
        "timings": {k: float(v) for k, v in vars(result.timings).items()},
        "hands": [hand_to_json(h, vertices) for h in result.hands],
    }


def result_from_json(d: dict) -> FrameResult:
    return FrameResult(
        frame_index=int(d["frame_index"]), timestamp=float(d["timestamp"]),
        hands=[hand_from_json(h) for h in d["hands"]],
        timings=StageTimings(**{k: float(v) for k, v in d.get("timings", {}).items()
                                if k in StageTimings.__dataclass_fields__}),  # tolerate added/removed stages
        dropped_frames=int(d.get("dropped_frames", 0)), shape_locked=bool(d.get("shape_locked", False)),
    )


# -- manifest --------------------------------------------------------------------------------------
@dataclass
class SessionManifest:
    """What ``manifest.json`` holds. ``summary`` is only there after a clean ``close()``;
    ``calibration`` and ``engine`` are free-form dicts from the caller (e.g. the model and its options)."""

    created: str
    source: str = ""
    intrinsics: CameraIntrinsics | None = None
    rgb_codec: str = "png"
    vertices: bool = False
    calibration: dict | None = None
    engine: dict | None = None
    summary: dict | None = None
    format: str = FORMAT_NAME
    version: int = FORMAT_VERSION

    def to_dict(self) -> dict:
        return {
            "format": self.format, "version": self.version, "created": self.created, "source": self.source,
            "intrinsics": None if self.intrinsics is None else self.intrinsics.to_dict(),
            "rgb_codec": self.rgb_codec, "depth_codec": "png16", "vertices": self.vertices,
            "table": TABLE_FILE, "calibration": self.calibration, "engine": self.engine,
            "summary": self.summary,
        }

    @classmethod
    def from_dict(cls, d: dict, where: Path) -> SessionManifest:
        if not isinstance(d, dict) or d.get("format") != FORMAT_NAME:
            raise ValueError(f"{where} is not a handstream session manifest (format is not {FORMAT_NAME!r})")
        version = d.get("version")
        if not isinstance(version, int) or version < 1:
            raise ValueError(f"{where}: 'version' must be a positive integer, got {version!r}")
        if version > FORMAT_VERSION:
            raise ValueError(f"{where} has session format version {version}; this handstream "
                             f"reads up to version {FORMAT_VERSION} (upgrade handstream)")
        codec = d.get("rgb_codec", "png")
        if codec not in RGB_CODECS:
            raise ValueError(f"{where}: unknown rgb_codec {codec!r} (expected one of {', '.join(RGB_CODECS)})")
        intr = d.get("intrinsics")
        return cls(created=str(d.get("created", "")), source=str(d.get("source", "")),
                   intrinsics=None if intr is None else CameraIntrinsics.from_dict(intr), rgb_codec=codec,
                   vertices=bool(d.get("vertices", False)), calibration=d.get("calibration"),
                   engine=d.get("engine"), summary=d.get("summary"), version=version)


def write_manifest(session_dir: Path, manifest: SessionManifest) -> None:
    """Atomically (write, fsync, rename) so a crash leaves the old or the new manifest, never half."""

    path = session_dir / MANIFEST_FILE
    tmp = session_dir / (MANIFEST_FILE + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(manifest.to_dict(), f, indent=2, default=str)  # e.g. Paths in `engine`
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


# -- reading ---------------------------------------------------------------------------------------
@dataclass
class SessionEntry:
    """One recorded frame as listed in the table: where its images are and what was predicted.
    ``result`` is None when the frame was recorded without predictions."""

    index: int
    timestamp: float
    rgb_file: str | None
    depth_file: str | None
    intrinsics: CameraIntrinsics | None
    result: FrameResult | None
    line: int


def _member(name: object) -> str | None:
    """An image path from the table: relative and inside the session folder, or None."""
    if name is None:
        return None
    if not isinstance(name, str) or Path(name).is_absolute() or ".." in Path(name).parts:
        raise ValueError(f"bad image path {name!r}")
    return name


class SessionReader:
    """Reads a session folder: the manifest and every intact line of the table at once, images on demand.

    Damage never raises here: an unreadable manifest, an incomplete last line (the recording was
    killed) or a corrupt line are listed in ``problems`` (each names its file) and logged; the rest
    is read. ``frame(i)`` raises a one-line error naming the image file when that frame's image is
    missing or corrupt. Only a missing folder or table (nothing to read) or a manifest that is not a
    valid handstream manifest (e.g. a newer format version) raise.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.manifest: SessionManifest | None = None
        self.entries: list[SessionEntry] = []
        self.problems: list[str] = []
        if not self.path.is_dir():
            raise FileNotFoundError(f"session folder {self.path} does not exist")
        self._read_manifest()
        self._read_table()
        for problem in self.problems:
            log.warning("%s", problem)

    def _read_manifest(self) -> None:
        path = self.path / MANIFEST_FILE
        if not path.is_file():
            self.problems.append(f"{path} is missing; reading the frames without it")
            return
        try:
            self.manifest = SessionManifest.from_dict(json.loads(path.read_text(encoding="utf-8")), path)
        except json.JSONDecodeError as exc:
            self.problems.append(f"{path} is corrupt ({exc}); reading the frames without it")
        except (KeyError, TypeError) as exc:
            self.problems.append(f"{path} has a bad entry ({exc}); reading the frames without it")

    def _read_table(self) -> None:
        path = self.path / TABLE_FILE
        if not path.is_file():
            raise FileNotFoundError(f"session {self.path} has no {TABLE_FILE}: nothing was recorded or it was deleted")
        data = path.read_bytes()
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        elif lines:
            self.problems.append(f"{path}: the last line (line {len(lines)}) is incomplete, the recording was "
                                 "interrupted; that frame is skipped")
            lines.pop()
        intrinsics = self.manifest.intrinsics if self.manifest else None
        for number, raw in enumerate(lines, start=1):
            try:
                d = json.loads(raw)
                if "intrinsics" in d:
                    intrinsics = None if d["intrinsics"] is None else CameraIntrinsics.from_dict(d["intrinsics"])
                entry = SessionEntry(
                    index=int(d["index"]), timestamp=float(d["timestamp"]), rgb_file=_member(d.get("rgb")),
                    depth_file=_member(d.get("depth")), intrinsics=intrinsics,
                    result=None if d.get("result") is None else result_from_json(d["result"]), line=number)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                self.problems.append(f"{path} line {number} is corrupt ({type(exc).__name__}: {exc}); "
                                     "that frame is skipped")
                continue
            self.entries.append(entry)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def intrinsics(self) -> CameraIntrinsics | None:
        """The camera of the first frame (or the manifest's when no frame was recorded)."""
        for entry in self.entries:
            if entry.intrinsics is not None:
                return entry.intrinsics
        return self.manifest.intrinsics if self.manifest else None

    def results(self) -> list[FrameResult | None]:
        """The recorded predictions, one per readable frame, in recording order."""
        return [e.result for e in self.entries]

    def frame(self, i: int) -> Frame:
        """The ``i``-th readable frame with its images decoded; ``captured_at`` is 0 (not live)."""
        entry = self.entries[i]
        rgb = None if entry.rgb_file is None else self._load_image(entry.rgb_file, color=True)
        depth = None if entry.depth_file is None else self._load_image(entry.depth_file, color=False)
        return Frame(index=entry.index, timestamp=entry.timestamp, rgb=rgb, depth=depth,
                     intrinsics=entry.intrinsics)

    def _load_image(self, name: str, color: bool) -> np.ndarray:
        import cv2

        path = self.path / name
        if not path.is_file():
            raise FileNotFoundError(f"session image {path} is missing")
        buf = np.frombuffer(path.read_bytes(), np.uint8)
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR if color else cv2.IMREAD_UNCHANGED) if buf.size else None
        if img is None or (not color and (img.dtype != np.uint16 or img.ndim != 2)):
            raise ValueError(f"session image {path} is corrupt or truncated")
        if color:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        return img
