"""One place finds the shipped files; HANDSTREAM_WEIGHTS moves them all."""
from __future__ import annotations

import subprocess
import sys

from models.shipped import REPO_WEIGHTS, shipped_file, weights_dir


def test_default_is_the_repository_folder(monkeypatch) -> None:
    monkeypatch.delenv("HANDSTREAM_WEIGHTS", raising=False)
    assert weights_dir() == REPO_WEIGHTS and shipped_file("lifter_compact.onnx").is_file()


def test_the_environment_variable_moves_every_shipped_file(tmp_path) -> None:
    code = ("from engine.stream import default_model_path; from models.hand.model import OPEN_MODEL_PATH; "
            "from models.mediapipe_hands import DEFAULT_TASK; "
            "print(default_model_path('lifter').parent, OPEN_MODEL_PATH.parent, DEFAULT_TASK.parent)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"HANDSTREAM_WEIGHTS": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert out.stdout.split() == [str(tmp_path)] * 3
