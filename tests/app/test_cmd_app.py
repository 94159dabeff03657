"""`handstream app` as a user runs it: opens on the demo, draws, saves a screenshot, reports errors."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PyQt6.QtGui import QImage

REPO_ROOT = Path(__file__).resolve().parents[2]


def _handstream(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_WAIT_POLICY="PASSIVE")
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=REPO_ROOT)


def test_app_runs_the_demo_and_saves_a_screenshot(app_seqhand_model, tmp_path, image_array):
    shot = tmp_path / "app.png"
    out = _handstream("app", "--source", "demo", "--model", "seqhand", "--model-path", str(app_seqhand_model),
                      "--record-dir", str(tmp_path / "sessions"), "--quit-after", "5", "--screenshot", str(shot))
    assert out.returncode == 0, out.stderr
    assert "display" in out.stdout and "error shown" not in out.stdout
    shown = int(out.stdout.split("frames shown")[0].split(",")[-1])
    assert shown >= 3  # frames advance (few when the shared machine is busy)
    pixels = image_array(QImage(str(shot)))
    assert pixels.shape[0] > 400 and pixels.shape[1] > 800
    assert pixels.std() > 20  # a populated window, not an empty grey one


def test_unavailable_camera_is_shown_in_the_window_not_as_a_traceback(app_seqhand_model):
    out = _handstream("app", "--source", "9", "--model", "seqhand", "--model-path", str(app_seqhand_model),
                      "--quit-after", "1")
    assert out.returncode == 0, out.stderr
    assert "error shown: webcam 9" in out.stdout
    assert "Traceback" not in out.stderr


def test_missing_model_file_is_a_one_line_error(tmp_path):
    out = _handstream("app", "--model-path", str(tmp_path / "nope.onnx"))
    assert out.returncode == 2
    assert out.stderr.strip() == f"handstream: error: --model-path {tmp_path / 'nope.onnx'} does not exist"


def test_ctrl_c_closes_the_app_cleanly_and_fast(app_cadstn_model):
    import signal
    import time

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_WAIT_POLICY="PASSIVE")
    app = subprocess.Popen([sys.executable, "-m", "app.cli", "app", "--source", "demo", "--model", "cadstn",
                            "--model-path", str(app_cadstn_model)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=env, cwd=REPO_ROOT)
    time.sleep(8.0)  # window up, demo rendered, engine running
    assert app.poll() is None, app.communicate()[1]
    sent = time.monotonic()
    app.send_signal(signal.SIGINT)
    _, err = app.communicate(timeout=30)
    assert app.returncode == 0, err
    assert time.monotonic() - sent < 5.0  # 2 s is the aim; the shared CI machine gets slack
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
