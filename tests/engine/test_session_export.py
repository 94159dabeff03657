"""Session export: csv, json and npz each read back to the recorded predictions."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from engine.frames import Frame
from engine.recording import RecordingOptions, SessionRecorder
from engine.results import FrameResult, HandResult
from engine.session import SessionReader
from engine.session_export import csv_header, export_session


def make_result(i: int) -> FrameResult | None:
    """Two hands (the second without theta/camera, like CADSTN), one hand, no hand, no predictions."""
    if i == 4:
        return None
    rng = np.random.default_rng(i)
    hands = [HandResult(track_id=k + 7, handedness=("left", "right")[k], confidence=float(rng.uniform()),
                        box=tuple(float(x) for x in rng.uniform(0, 600, 4)),
                        joints_2d=rng.uniform(0, 640, (21, 2)).astype(np.float32),
                        joints_3d=rng.uniform(-200, 900, (21, 3)).astype(np.float32),
                        vertices=rng.uniform(-200, 900, (30, 3)).astype(np.float32),
                        theta=rng.normal(size=10 if k == 0 else 0).astype(np.float32),
                        beta=rng.normal(size=10).astype(np.float32),
                        camera=rng.normal(size=6).astype(np.float32) if k == 0 else None,
                        beta_change=float(rng.uniform()))
             for k in range((2, 1, 0, 2)[i % 4])]
    return FrameResult(frame_index=i, timestamp=0.5 + i / 30.0, hands=hands, shape_locked=i > 3)


@pytest.fixture
def session(tmp_path):
    path = tmp_path / "take1"
    with SessionRecorder(path, RecordingOptions(vertices=True)) as rec:
        for i in range(6):
            rec.write(Frame(index=i, timestamp=0.5 + i / 30.0, depth=np.full((8, 8), 700 + i, np.uint16)),
                      make_result(i))
    return path


def hands_of(i: int) -> list[HandResult]:
    result = make_result(i)
    return result.hands if result else []


def test_csv_export_has_a_row_per_frame_and_hand_with_exact_values(session):
    out = export_session(session, "csv")
    assert out == session.parent / "take1.csv"
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == csv_header(21, 10, 10)
    assert [int(r["frame_index"]) for r in rows] == [0, 0, 1, 2, 3, 3, 4, 5]
    assert rows[3]["track_id"] == "" and rows[6]["track_id"] == ""  # frames without hands stay
    by_frame = {}
    for r in rows:
        by_frame.setdefault(int(r["frame_index"]), []).append(r)
    for i, frame_rows in by_frame.items():
        for r, h in zip(frame_rows, hands_of(i)):
            assert float(r["timestamp"]) == 0.5 + i / 30.0
            assert ((int(r["track_id"]), r["handedness"], float(r["confidence"]))
                    == (h.track_id, h.handedness, h.confidence))
            assert r["shape_locked"] == str(int(i > 3))
            j3 = np.array([[float(r[f"j{k}_{c}_mm"]) for c in "xyz"] for k in range(21)], np.float32)
            j2 = np.array([[float(r[f"j{k}_{c}"]) for c in "uv"] for k in range(21)], np.float32)
            np.testing.assert_array_equal(j3, h.joints_3d)
            np.testing.assert_array_equal(j2, h.joints_2d)
            np.testing.assert_array_equal(np.array([float(r[f"beta_{k}"]) for k in range(10)], np.float32), h.beta)
            theta = [r[f"theta_{k}"] for k in range(10)]
            if len(h.theta):
                np.testing.assert_array_equal(np.array(theta, np.float32), h.theta)
            else:
                assert theta == [""] * 10 and r["camera_s"] == ""


def test_json_export_keeps_frames_hands_and_vertices(session, tmp_path):
    out = export_session(session, "json", tmp_path / "preds.json")
    doc = json.loads(out.read_text())
    assert [f["index"] for f in doc["frames"]] == list(range(6))
    assert doc["frames"][4]["hands"] is None and doc["frames"][2]["hands"] == []
    for f in doc["frames"]:
        for got, h in zip(f["hands"] or [], hands_of(f["index"])):
            np.testing.assert_array_equal(np.array(got["joints_3d"], np.float32), h.joints_3d)
            np.testing.assert_array_equal(np.array(got["vertices"], np.float32), h.vertices)
            assert (got["camera"] is None) == (h.camera is None) and got["box"] == list(h.box)


def test_npz_export_holds_padded_arrays_that_match_the_session(session, tmp_path):
    out = export_session(session, "npz", tmp_path / "preds.npz")
    with np.load(out, allow_pickle=False) as z:
        a = {k: z[k] for k in z.files}
    assert a["joints_3d"].shape == (6, 2, 21, 3) and a["vertices"].shape == (6, 2, 30, 3)
    np.testing.assert_array_equal(a["has_result"], [True] * 4 + [False, True])
    np.testing.assert_array_equal(a["hand_valid"].sum(1), [2, 1, 0, 2, 0, 1])
    for i in range(6):
        for k, h in enumerate(hands_of(i)):
            assert a["track_id"][i, k] == h.track_id and a["handedness"][i, k] == h.handedness
            np.testing.assert_array_equal(a["joints_2d"][i, k], h.joints_2d)
            np.testing.assert_array_equal(a["beta"][i, k], h.beta)
            np.testing.assert_allclose(a["box"][i, k], h.box)
            assert np.isnan(a["camera"][i, k]).all() == (h.camera is None)
    assert np.isnan(a["joints_3d"][2]).all()
    # the same numbers as reading the session directly
    reader = SessionReader(session)
    np.testing.assert_array_equal(a["timestamp"], [e.timestamp for e in reader.entries])


def test_export_rejects_a_bad_format_or_output_folder_and_replaces_an_existing_file(session, tmp_path):
    with pytest.raises(ValueError, match="export format must be one of csv, json, npz"):
        export_session(session, "xlsx")
    with pytest.raises(FileNotFoundError, match="export output folder .* does not exist"):
        export_session(session, "csv", tmp_path / "missing" / "x.csv")
    with pytest.raises(FileNotFoundError, match="session folder .* does not exist"):
        export_session(tmp_path / "no_session", "csv")
    target = tmp_path / "old.json"
    target.write_text("earlier export")
    export_session(session, "json", target)
    assert json.loads(target.read_text())["format"] == "handstream-predictions"
    assert not list(tmp_path.glob("*.partial"))


def test_obj_export_writes_one_mesh_per_frame_and_hand_with_the_model_faces(tmp_path):
    from models.hand.model import load_hand_model

    model = load_hand_model()
    verts = (model.forward(np.zeros((1, 45))).vertices[0] * 1000.0 + [0, 0, 500]).astype(np.float32)
    path = tmp_path / "take"
    with SessionRecorder(path, RecordingOptions(vertices=True)) as rec:
        for i in range(2):
            hands = [HandResult(track_id=k + 1, handedness=side, confidence=1.0, box=(0.0, 0.0, 1.0, 1.0),
                                joints_2d=np.zeros((21, 2), np.float32), joints_3d=np.zeros((21, 3), np.float32),
                                vertices=verts * ([-1, 1, 1] if side == "left" else 1) + i)
                     for k, side in enumerate(("right", "left"))]
            rec.write(Frame(index=i, timestamp=i / 30.0, depth=np.zeros((8, 8), np.uint16)),
                      FrameResult(frame_index=i, timestamp=i / 30.0, hands=hands))
    out = export_session(path, "obj", tmp_path / "meshes")
    files = sorted(p.name for p in out.iterdir())
    assert files == ["frame_000000_hand1.obj", "frame_000000_hand2.obj", "frame_000001_hand1.obj",
                     "frame_000001_hand2.obj"]

    def read(name: str) -> tuple[np.ndarray, np.ndarray]:
        rows = [line.split() for line in (out / name).read_text().splitlines() if line[:2] in ("v ", "f ")]
        return (np.array([r[1:] for r in rows if r[0] == "v"], float),
                np.array([r[1:] for r in rows if r[0] == "f"], int))

    v, f = read("frame_000001_hand1.obj")
    np.testing.assert_allclose(v, verts + 1, atol=1e-3)
    np.testing.assert_array_equal(f, model.faces + 1)
    _, f_left = read("frame_000001_hand2.obj")
    np.testing.assert_array_equal(f_left, (model.faces + 1)[:, ::-1])  # the mirrored mesh keeps facing out
    with pytest.raises(FileExistsError, match="nothing was overwritten"):
        export_session(path, "obj", out)


def test_obj_export_needs_recorded_vertices(tmp_path):
    path = tmp_path / "plain"
    with SessionRecorder(path, RecordingOptions(vertices=False)) as rec:
        rec.write(Frame(index=0, timestamp=0.0, depth=np.zeros((8, 8), np.uint16)), make_result(0))
    with pytest.raises(ValueError, match="record it with --vertices"):
        export_session(path, "obj", tmp_path / "m")
