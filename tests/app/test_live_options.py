"""run, the app and bench build their engine in one place: the same source and choices give the same engine."""
from __future__ import annotations

import pytest

from app import cli
from app.live_runner import LiveOptions, LiveRunner
from engine.bench import bench_engine


class BuiltError(Exception):
    """Raised by the patched engine once it has its options: nothing needs to run."""


@pytest.fixture
def captured(monkeypatch):
    seen = []

    def init(self, options=None):
        seen.append(options)
        raise BuiltError

    monkeypatch.setattr("engine.stream.StreamingEngine.__init__", init)
    return seen


def test_run_app_and_bench_build_the_same_engine(captured, tmp_path):
    session = tmp_path / "take"  # a recorded session names its own model, file and detector
    session.mkdir()
    (session / "frames.jsonl").write_text("")
    model_file = tmp_path / "my.onnx"
    model_file.write_bytes(b"x")
    (session / "manifest.json").write_text(
        '{"format": "handstream-session", "version": 1, "created": "", "engine": '
        f'{{"model": "cadstn", "model_path": "{model_file}", "detector": "mediapipe"}}}}')
    with pytest.raises(BuiltError):
        cli.main(["run", "--source", str(session), "--headless", "--fast"])
    with pytest.raises(BuiltError):
        LiveRunner().start(LiveOptions(source=str(session), model="cadstn"))
    with pytest.raises(BuiltError):
        bench_engine("cadstn", "CPUExecutionProvider", source=str(session))
    run, app, bench = captured
    for options in (run, app, bench):
        assert (options.model, options.model_path, options.detector) == ("cadstn", model_file, "mediapipe")
    # the colour default, on the demo: MediaPipe (the lifter cannot crop from the demo's depth)
    captured.clear()
    with pytest.raises(BuiltError):
        cli.main(["run", "--headless"])
    with pytest.raises(BuiltError):
        LiveRunner().start(LiveOptions())
    with pytest.raises(BuiltError):
        bench_engine("lifter", "CPUExecutionProvider")
    assert {(o.model, o.model_path, o.detector) for o in captured} == {("lifter", None, "auto")}


def test_the_apps_source_and_recording_use_the_calibration_its_engine_uses(tmp_path, app_seqhand_model, qapp):
    import json

    import cv2

    from engine.demo import render_demo_frame

    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30, (640, 480))
    for i in range(10):
        writer.write(render_demo_frame(i / 30, "rgb")[0][..., ::-1].copy())
    writer.release()
    cam = tmp_path / "cam.json"
    cam.write_text(json.dumps({"fx": 900.0, "fy": 900.0, "cx": 319.5, "cy": 239.5, "width": 640, "height": 480}))
    runner = LiveRunner()
    runner.start(LiveOptions(source=str(clip), model="seqhand", model_path=app_seqhand_model, calibration=cam))
    try:
        assert runner.source.intrinsics.fx == 900.0  # what a recording's manifest keeps
        folder = runner.start_recording(tmp_path / "take")
    finally:
        runner.stop()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["intrinsics"]["fx"] == 900.0
