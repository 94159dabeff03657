"""Writing a recorded session's predictions for other tools: CSV, JSON or NumPy ``.npz``, and its meshes as OBJ.

Why three: CSV opens in anything (one row per frame and hand), JSON keeps the nesting (frames →
hands → arrays), NPZ gives dense arrays for numerical work. All three hold the same numbers; float32
values are written so that they read back exactly (``.9g`` in CSV). Columns and keys are documented in
``engine/SESSION_FORMAT.md``. Frames recorded without predictions are kept (no hands), so timestamps
line up with the images. ``obj`` writes a folder with one Wavefront OBJ mesh per frame and hand (camera
millimetres, the hand model's faces; left hands wound the other way), for Blender and other 3-D tools; it
needs a session recorded with ``--vertices``.
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np

from engine.results import HandResult
from engine.session import SessionEntry, SessionReader

EXPORT_FORMATS = ("csv", "json", "npz", "obj")
CAMERA_NAMES = ("s", "tx", "ty", "rx", "ry", "rz")


def default_export_path(session_dir: Path, fmt: str) -> Path:
    """Beside the session folder, not inside it: a session folder stays exactly as recorded."""
    session_dir = session_dir.resolve()  # so that "." still has a name
    return session_dir.parent / f"{session_dir.name}.{fmt}"


def export_session(session_dir: str | Path, fmt: str, out: str | Path | None = None) -> Path:
    """Write the predictions of the session in ``session_dir`` as ``fmt`` (csv, json or npz) to ``out``
    (default: ``<session>.<fmt>`` beside the folder) and return the path written.

    The file is written under a temporary name and renamed, so an existing file is only replaced by a
    complete one. Damaged frames are skipped with a warning (see ``SessionReader``).
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"export format must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}")
    session_dir = Path(session_dir)
    reader = SessionReader(session_dir)
    out = Path(out) if out is not None else default_export_path(session_dir, fmt)
    if fmt == "obj":
        return _write_obj_folder(reader, out)
    if out.is_dir():
        raise IsADirectoryError(f"export output {out} is a folder; give a file name")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"export output folder {out.parent} does not exist")
    tmp = out.with_name(out.name + ".partial")
    try:
        if fmt == "npz":
            with open(tmp, "wb") as f:
                _write_npz(reader, f)
        else:
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                (_write_csv if fmt == "csv" else _write_json)(reader, f)
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OSError(f"cannot write export {out}: {exc.strerror or exc}") from None
    return out


def _sizes(entries: list[SessionEntry]) -> tuple[int, int, int, int, int | None]:
    """Most hands in a frame, joints per hand, theta and beta lengths, vertex count (None if none stored)."""
    hands = [h for e in entries if e.result for h in e.result.hands]
    max_hands = max((len(e.result.hands) for e in entries if e.result), default=0)
    joints = max((len(h.joints_3d) for h in hands), default=21)
    theta = max((len(h.theta) for h in hands), default=0)
    beta = max((len(h.beta) for h in hands), default=10)
    verts = max((len(h.vertices) for h in hands if h.vertices is not None), default=None)
    return max_hands, joints, theta, beta, verts


def csv_header(joints: int, theta: int, beta: int) -> list[str]:
    cols = ["frame_index", "timestamp", "shape_locked", "hand", "track_id", "handedness", "confidence",
            "box_x0", "box_y0", "box_x1", "box_y1", "beta_change"]
    cols += [f"j{k}_{c}" for k in range(joints) for c in ("u", "v")]
    cols += [f"j{k}_{c}_mm" for k in range(joints) for c in ("x", "y", "z")]
    cols += [f"theta_{i}" for i in range(theta)] + [f"beta_{i}" for i in range(beta)]
    cols += [f"camera_{n}" for n in CAMERA_NAMES]
    return cols


def _fmt(values, width: int) -> list[str]:
    """float32 values as ``.9g`` (reads back bit-exact), padded with empty cells to ``width``."""
    vals = [] if values is None else [format(float(v), ".9g") for v in np.asarray(values, np.float32).ravel()]
    return vals + [""] * (width - len(vals))


def _write_csv(reader: SessionReader, f) -> None:
    _, joints, theta, beta, _ = _sizes(reader.entries)
    header = csv_header(joints, theta, beta)
    writer = csv.writer(f)
    writer.writerow(header)
    for e in reader.entries:
        base = [str(e.index), repr(e.timestamp), str(int(bool(e.result and e.result.shape_locked)))]
        hands = e.result.hands if e.result else []
        if not hands:  # keep the frame: its timestamp still matters
            writer.writerow(base + [""] * (len(header) - len(base)))
        for slot, h in enumerate(hands):
            writer.writerow(base + [str(slot), str(h.track_id), h.handedness, repr(float(h.confidence))]
                            + [repr(float(x)) for x in h.box] + [repr(float(h.beta_change))]
                            + _fmt(h.joints_2d, 2 * joints) + _fmt(h.joints_3d, 3 * joints)
                            + _fmt(h.theta, theta) + _fmt(h.beta, beta) + _fmt(h.camera, len(CAMERA_NAMES)))


def _hand_dict(h: HandResult) -> dict:
    d = {"track_id": h.track_id, "handedness": h.handedness, "confidence": h.confidence,
         "box": list(h.box), "joints_2d": np.asarray(h.joints_2d, np.float32).tolist(),
         "joints_3d": np.asarray(h.joints_3d, np.float32).tolist(),
         "theta": np.asarray(h.theta, np.float32).tolist(), "beta": np.asarray(h.beta, np.float32).tolist(),
         "camera": None if h.camera is None else np.asarray(h.camera, np.float32).tolist(),
         "beta_change": h.beta_change}
    if h.vertices is not None:
        d["vertices"] = np.asarray(h.vertices, np.float32).tolist()
    return d


def _write_json(reader: SessionReader, f) -> None:
    m = reader.manifest
    doc = {
        "format": "handstream-predictions", "version": 1, "session": reader.path.name,
        "source": m.source if m else "", "engine": m.engine if m else None,
        "intrinsics": None if reader.intrinsics is None else reader.intrinsics.to_dict(),
        "units": {"joints_2d": "pixels", "joints_3d": "millimetres, camera space", "vertices": "millimetres"},
        "joint_order": "mediapipe21",
        "frames": [{"index": e.index, "timestamp": e.timestamp,
                    "shape_locked": bool(e.result and e.result.shape_locked),
                    "hands": None if e.result is None else [_hand_dict(h) for h in e.result.hands]}
                   for e in reader.entries],
    }
    json.dump(doc, f)


def _write_npz(reader: SessionReader, f) -> None:
    entries = reader.entries
    n = len(entries)
    hands, joints, theta, beta, verts = _sizes(entries)
    nan = np.float32(np.nan)
    name_len = max([5] + [len(h.handedness) for e in entries if e.result for h in e.result.hands])
    a = {
        "frame_index": np.array([e.index for e in entries], np.int64),
        "timestamp": np.array([e.timestamp for e in entries], np.float64),
        "shape_locked": np.array([bool(e.result and e.result.shape_locked) for e in entries], bool),
        "has_result": np.array([e.result is not None for e in entries], bool),
        "hand_valid": np.zeros((n, hands), bool),
        "track_id": np.full((n, hands), -1, np.int32),
        "handedness": np.full((n, hands), "", f"<U{name_len}"),
        "confidence": np.full((n, hands), np.nan, np.float64),
        "box": np.full((n, hands, 4), np.nan, np.float64),
        "beta_change": np.full((n, hands), np.nan, np.float64),
        "joints_2d": np.full((n, hands, joints, 2), nan, np.float32),
        "joints_3d": np.full((n, hands, joints, 3), nan, np.float32),
        "theta": np.full((n, hands, theta), nan, np.float32),
        "beta": np.full((n, hands, beta), nan, np.float32),
        "camera": np.full((n, hands, len(CAMERA_NAMES)), nan, np.float32),
    }
    if verts is not None:
        a["vertices"] = np.full((n, hands, verts, 3), nan, np.float32)
    for i, e in enumerate(entries):
        for j, h in enumerate(e.result.hands if e.result else []):
            a["hand_valid"][i, j] = True
            a["track_id"][i, j] = h.track_id
            a["handedness"][i, j] = h.handedness
            a["confidence"][i, j] = h.confidence
            a["box"][i, j] = h.box
            a["beta_change"][i, j] = h.beta_change
            a["joints_2d"][i, j, :len(h.joints_2d)] = h.joints_2d
            a["joints_3d"][i, j, :len(h.joints_3d)] = h.joints_3d
            a["theta"][i, j, :len(h.theta)] = h.theta
            a["beta"][i, j, :len(h.beta)] = h.beta
            if h.camera is not None:
                a["camera"][i, j] = h.camera
            if h.vertices is not None:
                a["vertices"][i, j, :len(h.vertices)] = h.vertices
    np.savez_compressed(f, **a)


def _write_obj_folder(reader: SessionReader, out: Path) -> Path:
    """``out/frame_<index>_hand<id>.obj`` for every recorded hand with vertices; the folder must be new."""
    from models.hand.model import load_hand_model

    if not any(h.vertices is not None for e in reader.entries if e.result for h in e.result.hands):
        raise ValueError(f"session {reader.path} has no mesh vertices (record it with --vertices)")
    if out.exists():
        raise FileExistsError(f"export output {out} exists; choose a new folder (nothing was overwritten)")
    faces = load_hand_model().faces.astype(np.int64) + 1  # OBJ counts vertices from 1
    tmp = out.with_name(out.name + ".partial")
    try:
        tmp.mkdir()
        for entry in reader.entries:
            for hand in entry.result.hands if entry.result else []:
                if hand.vertices is None:
                    continue
                wound = faces[:, ::-1] if hand.handedness == "left" else faces  # a mirrored mesh turns inside out
                lines = [f"# handstream frame {entry.index} t={entry.timestamp:.6f} hand {hand.track_id} "
                         f"{hand.handedness}, camera mm"]
                lines += [f"v {x:.3f} {y:.3f} {z:.3f}" for x, y, z in hand.vertices]
                lines += [f"f {a} {b} {c}" for a, b, c in wound]
                (tmp / f"frame_{entry.index:06d}_hand{hand.track_id}.obj").write_text("\n".join(lines) + "\n")
        os.replace(tmp, out)
    except OSError as exc:
        raise OSError(f"cannot write export {out}: {exc.strerror or exc}") from None
    return out
