"""`handstream calibrate` end to end: image folder, live from a video file, and its one-line errors."""
from __future__ import annotations

import cv2
import pytest

from app.cli import main
from calibration.board import parse_board
from calibration.storage import load_calibration, read_calibration

CHARUCO = "charuco:7x5:30mm:22mm"


def _close(found, truth, tol):
    return all(abs(getattr(found, n) - getattr(truth, n)) / getattr(truth, n) < tol for n in ("fx", "fy", "cx", "cy"))


@pytest.fixture
def image_dir(tmp_path, true_camera, render_views):
    folder = tmp_path / "shots"
    folder.mkdir()
    for name, image in render_views(parse_board(CHARUCO), true_camera):
        cv2.imwrite(str(folder / name), image)
    return folder


def test_calibrate_images_writes_and_prints(image_dir, tmp_path, true_camera, capsys):
    out = tmp_path / "calib.json"
    assert main(["calibrate", "--images", str(image_dir), "--board", CHARUCO, "--out", str(out)]) == 0
    stored = read_calibration(out)
    assert _close(stored.intrinsics, true_camera, 0.01) and stored.rms_px < 0.5 and stored.views == 8
    assert stored.board == str(parse_board(CHARUCO)) and stored.extra["source"] == str(image_dir)
    text = capsys.readouterr().out
    k = stored.intrinsics
    for expected in (f"fx = {k.fx:.2f} px", f"cy = {k.cy:.2f} px", f"{k.distortion[0]:.5f}",
                     f"RMS reprojection error = {stored.rms_px:.3f} px", f"wrote {out}"):
        assert expected in text


def test_existing_output_is_kept_unless_forced(image_dir, tmp_path, capsys):
    out = tmp_path / "calib.json"
    out.write_text("precious")
    assert main(["calibrate", "--images", str(image_dir), "--board", CHARUCO, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"handstream: error: --out {out} already exists; use --force to replace it"
    assert out.read_text() == "precious"
    assert main(["calibrate", "--images", str(image_dir), "--board", CHARUCO, "--out", str(out), "--force"]) == 0
    load_calibration(out)


@pytest.mark.parametrize("args, words", [
    (["--images", "{tmp}/none", "--board", CHARUCO], "image folder {tmp}/none does not exist"),
    (["--images", "{tmp}", "--board", "checkerboard:9x6"], "board 'checkerboard:9x6': wrong number of fields"),
    (["--images", "{tmp}", "--board", CHARUCO, "--out", "{tmp}/no/dir/c.json"], "does not exist"),
    (["--images", "{tmp}", "--board", CHARUCO], "holds no images"),
    (["--source", "{tmp}/clip.mp4", "--board", CHARUCO], "clip.mp4 does not exist"),
    (["--source", "0", "--board", CHARUCO, "--views", "2"], "--views 2: calibration needs at least 4 views"),
    (["--source", "demo", "--board", CHARUCO], "not a calibration board"),
])
def test_user_errors_are_one_line(tmp_path, capsys, args, words, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(["calibrate", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("handstream: error: ") and words.replace("{tmp}", str(tmp_path)) in err[-1]
    assert not (tmp_path / "calib.json").exists()


def test_no_camera_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["calibrate", "--source", "63", "--board", CHARUCO, "--no-window"]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == "handstream: error: webcam 63 cannot be opened (not connected or busy)"


def test_live_calibration_from_a_video(tmp_path, true_camera, render_views, capsys):
    """A clip of a board held still at 8 places (3 frames each) between moving frames → 8 views kept."""
    clip = tmp_path / "board.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (640, 480))
    assert writer.isOpened()
    blank = cv2.cvtColor(render_views(parse_board(CHARUCO), true_camera)[0][1] * 0 + 120, cv2.COLOR_GRAY2BGR)
    for _, image in render_views(parse_board(CHARUCO), true_camera):
        for _ in range(3):
            writer.write(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
        writer.write(blank)  # the board leaves the view between poses
    writer.release()
    out = tmp_path / "calib.json"
    code = main(["calibrate", "--source", str(clip), "--board", CHARUCO, "--views", "8", "--no-window",
                 "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "view 8/8 kept" in text and "calibrated from 8 views" in text
    stored = read_calibration(out)
    assert stored.views == 8 and stored.rms_px < 0.5 and _close(stored.intrinsics, true_camera, 0.02)
