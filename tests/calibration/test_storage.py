"""Calibration files: exact round trip, explicit units, atomic replacement, clear errors for bad files."""
from __future__ import annotations

import json
import os

import pytest

from calibration.intrinsics import CameraIntrinsics
from calibration.storage import load_calibration, read_calibration, save_calibration

CAMERA = CameraIntrinsics(fx=612.345678901, fy=611.9, cx=319.25, cy=241.75, width=640, height=480,
                          distortion=(-0.1234567, 0.04, 0.0012, -0.0007, 0.0003))


def test_round_trip_is_exact_and_names_units(tmp_path):
    path = save_calibration(tmp_path / "calib.json", CAMERA, rms_px=0.213, views=18, board="checkerboard:9x6:25mm",
                            extra={"source": "webcam 0"})
    assert load_calibration(path) == CAMERA
    stored = read_calibration(path)
    assert (stored.rms_px, stored.views, stored.board, stored.extra) == (0.213, 18, "checkerboard:9x6:25mm",
                                                                          {"source": "webcam 0"})
    assert stored.created_utc and stored.created_utc.endswith("Z")
    doc = json.loads(path.read_text())
    assert doc["focal_length_px"] == {"fx": CAMERA.fx, "fy": CAMERA.fy}
    assert doc["image_size_px"] == {"width": 640, "height": 480}
    assert doc["distortion"]["k1"] == CAMERA.distortion[0] and doc["distortion"]["model"] == "opencv-brown-conrady"


def test_existing_file_is_replaced_without_leftovers(tmp_path):
    path = tmp_path / "calib.json"
    save_calibration(path, CAMERA)
    other = CameraIntrinsics(fx=500.0, fy=500.0, cx=160.0, cy=120.0, width=320, height=240)
    save_calibration(path, other)
    assert load_calibration(path) == CameraIntrinsics(500.0, 500.0, 160.0, 120.0, 320, 240, (0.0,) * 5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calib.json"]


def test_unwritable_target_keeps_the_old_file(tmp_path):
    path = tmp_path / "calib.json"
    save_calibration(path, CAMERA)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_calibration(tmp_path / "missing" / "calib.json", CAMERA)
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(IsADirectoryError, match="folder.json: it is a folder"):
        save_calibration(tmp_path / "folder.json", CAMERA)
    (tmp_path / "folder.json").rmdir()
    if os.geteuid() != 0:  # root writes anywhere; the check only means something for ordinary users
        tmp_path.chmod(0o500)
        try:
            with pytest.raises(OSError, match="cannot write calibration"):
                save_calibration(path, CameraIntrinsics(1.0, 1.0, 0.0, 0.0, 2, 2))
        finally:
            tmp_path.chmod(0o700)
    assert load_calibration(path) == CAMERA
    with pytest.raises(ValueError, match="focal lengths"):
        save_calibration(path, CameraIntrinsics(fx=-1.0, fy=500.0, cx=1.0, cy=1.0, width=4, height=4))
    assert load_calibration(path) == CAMERA


def _write_doc(tmp_path, mutate) -> object:
    path = tmp_path / "calib.json"
    save_calibration(path, CAMERA)
    doc = json.loads(path.read_text())
    mutate(doc)
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d.pop("format"), "not a handstream calibration"),
    (lambda d: d.update(version=7), "version 7"),
    (lambda d: d["focal_length_px"].pop("fy"), "focal_length_px.fy is missing"),
    (lambda d: d["principal_point_px"].update(cx="320"), "principal_point_px.cx is missing or not a number"),
    (lambda d: d["focal_length_px"].update(fx=0), "must be positive"),
    (lambda d: d["image_size_px"].update(width=640.5), "whole pixels"),
    (lambda d: d["distortion"].update(model="fisheye"), "distortion.model"),
    (lambda d: d.update(distortion=[0, 0, 0, 0, 0]), "distortion.model"),
])
def test_bad_contents_are_one_line_errors_naming_the_file(tmp_path, mutate, words):
    path = _write_doc(tmp_path, mutate)
    with pytest.raises(ValueError) as err:
        load_calibration(path)
    assert words in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_not_json_and_missing_files(tmp_path):
    bad = tmp_path / "calib.json"
    bad.write_text('{"format": "handstream-calibration",\n  "version": 1,,}')
    with pytest.raises(ValueError, match=r"calib.json is not valid JSON \(line 2"):
        load_calibration(bad)
    binary = tmp_path / "calib.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(ValueError, match="calib.bin is not"):
        load_calibration(binary)
    with pytest.raises(FileNotFoundError, match="nope.json does not exist"):
        load_calibration(tmp_path / "nope.json")
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a handstream calibration"):
        load_calibration(listing)


def test_plain_intrinsics_json_is_accepted_and_checked(tmp_path):
    path = tmp_path / "cam.json"
    path.write_text(json.dumps({"fx": 600.5, "fy": 601.0, "cx": 319.5, "cy": 239.5, "width": 640, "height": 480}))
    k = load_calibration(path)
    assert (k.fx, k.fy, k.cx, k.cy, k.width, k.height) == (600.5, 601.0, 319.5, 239.5, 640, 480)
    path.write_text(json.dumps({"fx": -1, "fy": 601.0, "cx": 319.5, "cy": 239.5, "width": 640, "height": 480}))
    with pytest.raises(ValueError, match="focal lengths"):
        load_calibration(path)
    path.write_text(json.dumps({"fx": 600.0}))  # neither plain nor ours
    with pytest.raises(ValueError, match="not a handstream calibration"):
        load_calibration(path)

