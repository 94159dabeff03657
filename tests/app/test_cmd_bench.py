"""`handstream bench`: a stage table or JSON per model and provider; missing models said plainly."""
from __future__ import annotations

import json

from app import cli


def test_bench_json_has_every_stage_with_median_and_p95(tmp_path, capsys, app_cadstn_model):
    code = cli.main(["bench", "--model", "cadstn", "--model-path", str(app_cadstn_model), "--frames", "20",
                     "--provider", "CPUExecutionProvider", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    (run,) = report
    assert run["model"] == "cadstn" and run["provider"] == "CPUExecutionProvider" and run["error"] is None
    assert run["frames"] == 20 and run["fps"] > 0 and run["hands_per_frame"] == 1.0
    stages = run["stages"]
    assert set(stages) == {"capture", "detect", "crop", "inference", "hand_model", "overhead", "total"}
    for stats in stages.values():
        assert 0.0 <= stats["median_ms"] <= stats["p95_ms"]
    assert stages["total"]["median_ms"] >= stages["inference"]["median_ms"]
    assert "cores" in run["host"]  # what the numbers were measured on


def test_bench_names_the_cpu_and_its_widest_vector_unit(tmp_path):
    from engine.bench import host_cpu

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Some Xeon\nflags\t\t: fpu sse avx2 avx512f avx512_bf16\n\n"
                    "processor\t: 1\nmodel name\t: Some Xeon\nflags\t\t: fpu sse avx2 avx512f avx512_bf16\n")
    assert host_cpu(info).startswith("Some Xeon, ") and host_cpu(info).endswith(" cores, AVX-512 with bfloat16")
    info.write_text("model name\t: Some Xeon\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 avx512_fp16\n")
    assert host_cpu(info).endswith(" cores, AVX-512 with bfloat16 and FP16")  # MediaPipe's networks run in fp16
    info.write_text("model name\t: Some EPYC\nflags\t\t: fpu sse avx2\n")
    assert host_cpu(info).endswith(" cores, AVX2")
    assert host_cpu(tmp_path / "absent").endswith(" cores")


def test_bench_says_in_one_line_when_a_model_is_missing(tmp_path, capsys):
    code = cli.main(["bench", "--model", "seqhand", "--model-path", str(tmp_path / "absent.onnx"), "--frames", "5"])
    out = capsys.readouterr().out
    assert code == 2
    assert "seqhand on CPUExecutionProvider (demo): seqhand model" in out and "absent.onnx is missing" in out
    assert out.startswith("host: ") and " cores" in out.splitlines()[0]


def test_bench_gen_reports_the_generators_speed(capsys):
    code = cli.main(["bench", "gen", "--kind", "depth", "--sequences", "2", "--workers", "1", "--json"])
    (run,) = json.loads(capsys.readouterr().out)
    assert code == 0
    assert run["kind"] == "depth" and run["frames"] == 20 and run["frames_per_second"] > 0


def test_bench_record_reports_each_codec_and_leaves_nothing_behind(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    code = cli.main(["bench", "record", "--frames", "6", "--json"])
    runs = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [r["rgb_codec"] for r in runs] == ["png", "jpg"]
    for r in runs:
        assert r["frames"] == 6 and r["dropped"] == 0 and r["bytes_per_frame"] > 100_000  # 640x480 RGB-D
        assert r["write_call_us"] > 0 and r["writer_ms_per_frame"] > 0
    png, jpg = runs
    assert jpg["bytes_per_frame"] < png["bytes_per_frame"]
    assert list(tmp_path.iterdir()) == []  # the temporary sessions are gone
