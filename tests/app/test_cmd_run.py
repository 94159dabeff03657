"""`handstream run`: per-frame results on disk, recordings, summary, one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from app import cli


def test_run_writes_one_result_line_per_frame_and_a_summary(tmp_path, capsys, app_cadstn_model):
    out = tmp_path / "results.jsonl"
    code = cli.main(["run", "--source", "demo", "--model", "cadstn", "--model-path", str(app_cadstn_model),
                     "--headless", "--frames", "12", "--fast", "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["frame_index"] for line in lines] == list(range(12))
    assert all(len(line["hands"]) == 1 and len(line["hands"][0]["joints_3d"]) == 21 for line in lines)
    assert "processed 12 frames" in printed.out and "inference" in printed.out


def test_run_records_a_session_that_replays_through_the_engine(tmp_path, capsys, app_cadstn_model):
    session = tmp_path / "session"
    code = cli.main(["run", "--source", "demo", "--model", "cadstn", "--model-path", str(app_cadstn_model),
                     "--headless", "--frames", "8", "--fast", "--record", str(session)])
    assert code == 0, capsys.readouterr().err
    assert (session / "manifest.json").is_file()
    replay = tmp_path / "replay.jsonl"
    code = cli.main(["run", "--source", str(session), "--model", "cadstn", "--model-path", str(app_cadstn_model),
                     "--headless", "--fast", "--out", str(replay)])
    assert code == 0, capsys.readouterr().err
    assert len(replay.read_text().splitlines()) == 8


def test_user_errors_are_one_line_and_nothing_is_overwritten(tmp_path, app_cadstn_model):
    existing = tmp_path / "results.jsonl"
    existing.write_text("precious\n")

    def handstream(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, timeout=120)

    out = handstream("run", "--model", "cadstn", "--model-path", str(app_cadstn_model), "--headless",
                     "--frames", "2", "--out", str(existing))
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0 and "already exists" in out.stderr
    assert existing.read_text() == "precious\n"
    out = handstream("run", "--model", "cadstn", "--model-path", str(tmp_path / "gone.onnx"), "--headless")
    assert out.returncode == 2 and out.stderr.strip().startswith("handstream: error: cadstn model")
    assert "gone.onnx is missing" in out.stderr and out.stderr.strip().count("\n") == 0
    out = handstream("run", "--source", str(tmp_path / "nowhere.bag"), "--model", "cadstn",
                     "--model-path", str(app_cadstn_model), "--headless")
    assert out.returncode == 2 and "nowhere.bag does not exist" in out.stderr


def test_run_tracks_the_hand_in_a_video_file_with_the_rgb_model(tmp_path, capsys, app_seqhand_model):
    import cv2

    from engine.demo import render_demo_frame

    clip = tmp_path / "hand.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 480))
    for i in range(8):
        rgb, _ = render_demo_frame(2.0 + i / 30.0, "rgb")  # a stretch MediaPipe detects well
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    out = tmp_path / "results.jsonl"
    code = cli.main(["run", "--source", str(clip), "--model", "seqhand", "--model-path", str(app_seqhand_model),
                     "--headless", "--fast", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 8
    tracked = [line["hands"] for line in lines if line["hands"]]
    assert len(tracked) >= 6  # MediaPipe acquires the hand, then the engine follows or re-finds it
    assert {hands[0]["track_id"] for hands in tracked} == {tracked[0][0]["track_id"]}
    for hands in tracked:
        x0, y0, x1, y1 = hands[0]["box"]
        assert 150 < (x0 + x1) / 2 < 550 and 50 < (y0 + y1) / 2 < 450  # the crop stays on the hand


def test_results_to_standard_output_end_cleanly_when_the_reader_stops(app_cadstn_model):
    """`--out -` into `head`: JSON lines on stdout, the summary on stderr, exit 0 and no traceback."""
    cmd = (f"{sys.executable} -m app.cli run --model cadstn --model-path {app_cadstn_model} --headless --fast "
           f"--frames 400 --out - | head -n 3")
    out = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, timeout=300)
    lines = out.stdout.splitlines()
    assert out.returncode == 0, out.stderr
    assert [json.loads(line)["frame_index"] for line in lines] == [0, 1, 2]
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr


def test_results_may_go_to_a_device(capsys, app_cadstn_model):
    code = cli.main(["run", "--model", "cadstn", "--model-path", str(app_cadstn_model), "--headless", "--fast",
                     "--frames", "3", "--out", "/dev/null"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "results: /dev/null" in printed.out


def test_a_replay_with_no_options_reproduces_the_recorded_predictions(tmp_path, capsys, app_cadstn_model):
    """The session's manifest names its model, file and detector: a bare replay runs the same engine."""
    from engine.session import SessionReader

    session = tmp_path / "take"
    assert cli.main(["run", "--model", "cadstn", "--model-path", str(app_cadstn_model), "--headless",
                     "--frames", "6", "--fast", "--record", str(session)]) == 0, capsys.readouterr().err
    recorded = SessionReader(session)
    assert recorded.manifest.engine["detector"] == "depth" and recorded.manifest.engine["model"] == "cadstn"
    replay = tmp_path / "replay.jsonl"
    assert cli.main(["run", "--source", str(session), "--headless", "--fast", "--out", str(replay)]) == 0
    assert "cadstn on" in capsys.readouterr().err  # not the colour default
    lines = [json.loads(line) for line in replay.read_text().splitlines()]
    assert len(lines) == len(recorded.entries) == 6
    for line, entry in zip(lines, recorded.entries):
        (hand,), (was,) = line["hands"], entry.result.hands
        assert hand["joints_3d"] == was.joints_3d.tolist()


def test_results_stream_to_another_program_at_the_frame_rate(app_cadstn_model):
    """`--stream HOST:PORT`: the demo played in real time (30 fps), every frame's JSON as one UDP datagram."""
    import socket

    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(30.0)
    port = receiver.getsockname()[1]
    run = subprocess.Popen([sys.executable, "-m", "app.cli", "run", "--model", "cadstn", "--model-path",
                            str(app_cadstn_model), "--headless", "--frames", "60", "--stream", f"127.0.0.1:{port}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    frames = []
    try:
        while len(frames) < 60:
            frames.append(json.loads(receiver.recv(65536)))
    except TimeoutError:
        pass
    finally:
        receiver.close()
        assert run.wait(60) == 0, run.stderr.read()
    indices = [f["frame_index"] for f in frames]
    assert len(frames) >= 59 and indices == sorted(indices)  # >= 99 % of the frames, in order
    assert len(frames[0]["hands"][0]["joints_3d"]) == 21 and "vertices" not in frames[0]["hands"][0]


def test_a_bad_stream_address_is_one_line():
    out = subprocess.run([sys.executable, "-m", "app.cli", "run", "--stream", "localhost", "--frames", "1"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stderr.strip() == \
        "handstream: error: --stream 'localhost' must be HOST:PORT, e.g. 127.0.0.1:9000"


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_stopped_run_closes_its_recording_with_a_summary(tmp_path, app_cadstn_model, sig):
    import signal
    import time

    session = tmp_path / "take"
    run = subprocess.Popen([sys.executable, "-m", "app.cli", "run", "--model", "cadstn", "--model-path",
                            str(app_cadstn_model), "--headless", "--record", str(session)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (session / "frames.jsonl").is_file() or (session / "frames.jsonl").stat().st_size < 2000:
        assert time.monotonic() < deadline and run.poll() is None, run.stderr.read() if run.poll() else "slow"
        time.sleep(0.2)
    run.send_signal(getattr(signal, sig))
    out, err = run.communicate(timeout=30)
    assert run.returncode == 0, err
    assert "Traceback" not in err and "processed" in out
    manifest = json.loads((session / "manifest.json").read_text())
    assert manifest["summary"] is not None and manifest["summary"]["frames_written"] > 0


def test_photos_run_as_a_folder_a_glob_or_one_file(tmp_path, capsys):
    """Unrelated photos with --stills: one result line per image, in name order, each a fresh track."""
    import cv2

    from engine.demo import render_demo_frame

    folder = tmp_path / "shots"
    folder.mkdir()
    for i, t in enumerate((0.0, 1.0, 2.0)):
        cv2.imwrite(str(folder / f"hand_{i}.png"), render_demo_frame(t, "rgb")[0][..., ::-1])
    (folder / "notes.txt").write_text("not an image")
    for spec, count in ((str(folder), 3), (str(folder / "hand_*.png"), 3), (str(folder / "hand_1.png"), 1)):
        out = tmp_path / f"r{len(list(tmp_path.iterdir()))}.jsonl"
        code = cli.main(["run", "--source", spec, "--stills", "--headless", "--out", str(out)])
        assert code == 0, capsys.readouterr().err
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        assert [line["frame_index"] for line in lines] == list(range(count))
        ids = [line["hands"][0]["track_id"] for line in lines]
        assert all(len(line["hands"]) == 1 for line in lines) and len(set(ids)) == count
    (folder / "hand_3.png").write_bytes(b"broken")
    assert cli.main(["run", "--source", str(folder), "--stills", "--headless", "--out", str(tmp_path / "x.jsonl")]) == 1
    assert "hand_3.png cannot be read" in capsys.readouterr().err
    assert len((tmp_path / "x.jsonl").read_text().splitlines()) == 3  # what came before the bad image is kept


def test_a_video_damaged_in_its_middle_is_reported_and_its_frames_kept(tmp_path, capsys):
    import cv2
    import numpy as np

    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30, (160, 120))
    for i in range(60):
        writer.write(np.full((120, 160, 3), i * 4, np.uint8))
    writer.release()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])  # the header still promises 60 frames
    out = tmp_path / "r.jsonl"
    assert cli.main(["run", "--source", str(cut), "--headless", "--fast", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "is damaged: it stops after frame" in err and "of 60" in err
    assert 10 < len(out.read_text().splitlines()) < 60  # what was read before the damage is kept
    assert cli.main(["run", "--source", str(clip), "--headless", "--fast", "--out", str(tmp_path / "ok.jsonl")]) == 0


@pytest.mark.parametrize("damage", ["garbage", "missing"])
def test_a_session_replays_without_a_readable_manifest(tmp_path, capsys, app_cadstn_model, damage):
    """SESSION_FORMAT.md: the frames are read without the manifest (then with the default model)."""
    session = tmp_path / "take"
    assert cli.main(["run", "--model", "cadstn", "--model-path", str(app_cadstn_model), "--headless",
                     "--frames", "4", "--fast", "--record", str(session)]) == 0
    if damage == "garbage":
        (session / "manifest.json").write_text("garbage{")
    else:
        (session / "manifest.json").unlink()
    out = tmp_path / "replay.jsonl"
    code = cli.main(["run", "--source", str(session), "--model", "cadstn", "--model-path", str(app_cadstn_model),
                     "--headless", "--fast", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert len(out.read_text().splitlines()) == 4


def test_a_placer_beside_a_cadstn_file_moves_its_crops_and_no_placer_runs_without_it(tmp_path, capsys,
                                                                                      app_cadstn_model):
    import shutil

    from tests.engine.conftest import build_placer_finding

    alone, placed = tmp_path / "alone", tmp_path / "placed"
    for folder in (alone, placed):
        folder.mkdir()
        shutil.copy(app_cadstn_model, folder / "m.onnx")
    build_placer_finding(placed / "m_placer.onnx", 80.0, crop_size=128, upright=False, axis=None)

    def joints(folder, *flags):
        out = tmp_path / f"{len(list(tmp_path.glob('*.jsonl')))}.jsonl"
        code = cli.main(["run", "--source", "demo", "--model", "cadstn", "--model-path", str(folder / "m.onnx"),
                         "--headless", "--frames", "4", "--fast", "--out", str(out), *flags])
        assert code == 0, capsys.readouterr().err
        return [line["hands"][0]["joints_3d"] for line in map(json.loads, out.read_text().splitlines())]

    assert joints(placed, "--no-placer") == joints(alone)
    assert joints(placed) != joints(alone)  # every crop cut 80 mm to the side, where the placer says the hand is
