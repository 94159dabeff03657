"""The `handstream` command as a user meets it: help, doctor, one-line errors."""
from __future__ import annotations

import subprocess
import sys

import pytest

from app import cli


def _handstream(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_help_lists_every_subcommand():
    out = _handstream("--help")
    assert out.returncode == 0
    for module in cli.COMMANDS:
        assert module.NAME in out.stdout


def test_doctor_reports_versions_and_providers_without_cameras():
    out = _handstream("doctor")
    assert out.returncode == 0, out.stderr
    assert "onnxruntime" in out.stdout
    assert "CPUExecutionProvider" in out.stdout
    assert "hand model:" in out.stdout
    from models.bundle_network import native_fp16

    precision = "fp16" if native_fp16() else "fp32"
    assert f"hand detector: MediaPipe's palm detector and landmark network on LiteRT, {precision} (" in out.stdout
    assert "webcams:" in out.stdout and "RealSense devices:" in out.stdout
    # the shipped networks load under the engine's streaming contract
    assert "model: seqhand seqhand_compact.onnx (" in out.stdout and "inputs image, h, c" in out.stdout
    assert "model: cadstn cadstn_compact.onnx (" in out.stdout and "inputs depth, heatmaps, h, c" in out.stdout


@pytest.mark.parametrize(("native", "says"), [(True, "train in bf16"), (False, "train in fp32")])
def test_doctor_says_in_which_precision_bf16_configs_train(monkeypatch, native, says):
    import models.precision
    from app.diagnostics import collect_report, format_report

    monkeypatch.setattr(models.precision, "native_bf16", lambda device: native)
    lines = format_report(collect_report(probe_cameras=False)).splitlines()
    assert [line for line in lines if line.startswith("  training: CPU (") and line.endswith(says)]


def test_user_errors_are_one_line_without_traceback(capsys, monkeypatch):
    def failing(_args):
        raise FileNotFoundError("recording /nowhere/session is missing")

    monkeypatch.setattr(cli.cmd_doctor, "run", failing)
    code = cli.main(["doctor"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == "handstream: error: recording /nowhere/session is missing"


def test_doctor_names_the_open_hand_model_and_a_bad_mano_dir(tmp_path):
    out = _handstream("doctor", "--no-cameras")
    assert "handstream_hand_right.pkl" in out.stdout
    missing = tmp_path / "no-such-mano"
    out = _handstream("--mano-dir", str(missing), "doctor", "--no-cameras")
    assert out.returncode == 0, out.stderr
    line = next(text for text in out.stdout.splitlines() if "hand model:" in text)
    assert "unavailable" in line and str(missing) in line


@pytest.mark.parametrize("argv", [["--debug", "doctor"], ["doctor", "--debug"]])
def test_global_options_are_accepted_before_or_after_the_subcommand(argv):
    args = cli.build_parser().parse_args(argv)
    assert args.debug is True and args.command == "doctor"
    assert cli.build_parser().parse_args(["doctor"]).debug is False


def test_export_refuses_to_overwrite_a_model_without_force(tmp_path, capsys):
    ckpt, out = tmp_path / "c.pt", tmp_path / "shipped.onnx"
    ckpt.write_bytes(b"not read before the check")
    out.write_bytes(b"the shipped model")
    assert cli.main(["export", "lifter", "--ckpt", str(ckpt), "--out", str(out)]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert out.read_bytes() == b"the shipped model"
    assert cli.main(["export", "lifter", "--ckpt", str(ckpt), "--out", str(out), "--force"]) == 2  # now it reads
    assert "checkpoint" in capsys.readouterr().err


def test_threads_below_one_are_refused(capsys):
    assert cli.main(["run", "--frames", "1", "--headless", "--threads", "0"]) == 2
    assert capsys.readouterr().err.strip() == "handstream: error: --threads must be at least 1, got 0"


def test_the_log_says_warnings_by_default_and_less_or_more_when_asked(tmp_path):
    """A session with a garbage manifest replays with one warning line; --quiet drops it, -v adds what runs."""
    session = tmp_path / "take"
    session.mkdir()
    (session / "frames.jsonl").write_text("")
    (session / "manifest.json").write_text("garbage{")
    args = ("export", str(session), "--format", "json", "--out")
    default = _handstream(*args, str(tmp_path / "a.json"))
    assert default.returncode == 0, default.stderr
    assert "handstream: WARNING:" in default.stderr and "manifest.json is corrupt" in default.stderr
    quiet = _handstream(*args, str(tmp_path / "b.json"), "--quiet")
    assert quiet.returncode == 0 and "WARNING" not in quiet.stderr
    verbose = _handstream("run", "--model", "cadstn", "--frames", "1", "--headless", "-v")
    assert verbose.returncode == 0 and "handstream: INFO: engine: cadstn model" in verbose.stderr
    assert cli.build_parser().parse_args(["-v", "doctor"]).verbose is True
    assert cli.build_parser().parse_args(["doctor", "-q"]).quiet is True
