"""The hand_landmarker.task builder: an uncompressed zip of the two models, plus the license."""
from __future__ import annotations

import zipfile

import pytest

from models.build_hand_landmarker import build_bundle


def _fake_wheel(path, members):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as whl:
        for name, data in members.items():
            whl.writestr(name, data)
    return path


def test_the_bundle_stores_both_models_uncompressed_and_copies_the_license(tmp_path):
    wheel = _fake_wheel(tmp_path / "mediapipe-0.10.21-x.whl", {
        "mediapipe/modules/palm_detection/palm_detection_full.tflite": b"palm" * 100,
        "mediapipe/modules/hand_landmark/hand_landmark_full.tflite": b"landmarks" * 100,
        "mediapipe-0.10.21.dist-info/LICENSE": b"Apache License 2.0",
    })
    out = build_bundle(wheel, tmp_path / "w" / "hand_landmarker.task")
    with zipfile.ZipFile(out) as task:
        infos = {i.filename: i for i in task.infolist()}
        assert set(infos) == {"hand_detector.tflite", "hand_landmarks_detector.tflite"}
        assert all(i.compress_type == zipfile.ZIP_STORED for i in infos.values())
        assert task.read("hand_detector.tflite") == b"palm" * 100
    assert (tmp_path / "w" / "LICENSE-mediapipe.txt").read_bytes() == b"Apache License 2.0"
    first = out.read_bytes()
    assert build_bundle(wheel, out).read_bytes() == first  # reproducible bytes


def test_a_wheel_without_the_models_is_a_clear_error(tmp_path):
    wheel = _fake_wheel(tmp_path / "mediapipe-0.10.32-x.whl", {"mediapipe/__init__.py": b""})
    with pytest.raises(ValueError, match="lacks mediapipe/modules/palm_detection/palm_detection_full.tflite"):
        build_bundle(wheel, tmp_path / "hand_landmarker.task")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_bundle(tmp_path / "nowhere.whl", tmp_path / "hand_landmarker.task")
