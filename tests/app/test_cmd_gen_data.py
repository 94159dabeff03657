"""`handstream gen-data` and `handstream pose-bank`: bad arguments give one-line errors and exit code 2."""
from __future__ import annotations

import numpy as np
import pytest

from app.cli import main
from tests.conftest import REPO_ROOT


@pytest.mark.parametrize("extra,needle", [
    (["--sequences", "0"], "--sequences must be >= 1"),
    (["--frames", "-3"], "--frames must be >= 1"),
    (["--size", "8"], "--size must be >= 16"),
    (["--backgrounds", "/nonexistent/voc"], "/nonexistent/voc"),
    (["--pose-bank", "/nonexistent/bank.npz"], "/nonexistent/bank.npz"),
])
def test_gen_data_bad_arguments(tmp_path, capsys, extra, needle) -> None:
    code = main(["gen-data", "--out", str(tmp_path / "out"), *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("handstream: error:") and needle in err and "\n" not in err


def test_gen_data_unwritable_output(tmp_path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(["gen-data", "--sequences", "1", "--out", str(blocker / "sub")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "cannot be created" in err and "\n" not in err


def test_gen_data_writes_a_dataset(tmp_path, capsys) -> None:
    out = tmp_path / "data"
    code = main(["gen-data", "--kind", "depth", "--sequences", "3", "--frames", "2", "--size", "32",
                 "--out", str(out), "--bank-size", "500", "--per-shard", "2"])
    assert code == 0 and "wrote 2 shard(s)" in capsys.readouterr().out
    assert np.load(out / "shard-00001.npz")["depth"].shape == (1, 2, 32, 32)


@pytest.mark.parametrize("source,needle", [
    ("nyu", "FORMAT:PATH"),
    ("msra:/tmp/x.mat", "/tmp/x.mat"),
    ("procedural:many", "procedural:N"),
    ("straight-thumb:x", "straight-thumb:N"),
])
def test_pose_bank_bad_arguments(tmp_path, capsys, source, needle) -> None:
    code = main(["pose-bank", "--from", source, "--out", str(tmp_path / "bank.npz")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and needle in err and "\n" not in err


@pytest.mark.parametrize("kind", ["procedural", "straight-thumb"])
def test_pose_bank_procedural(tmp_path, capsys, kind) -> None:
    out = tmp_path / "bank.npz"
    assert main(["pose-bank", "--from", f"{kind}:500", "--out", str(out), "--seed", "4"]) == 0
    assert f"500 poses from {kind}:500:4" in capsys.readouterr().out
    with np.load(out) as z:
        assert z["theta"].shape == (500, 45) and z["joints"].shape == (500, 21, 3)


A2J_ICVL = REPO_ROOT.parent / "shared" / "data" / "a2j" / "icvl_keypointsUVD_test.mat"


@pytest.mark.skipif(not A2J_ICVL.is_file(), reason=f"needs {A2J_ICVL}")
def test_pose_bank_from_labels_within_the_joint_limits_or_free(tmp_path, capsys) -> None:
    from models.pose_prior import beyond_limits

    beyond = {}
    for flag in ([], ["--no-limits"]):
        out = tmp_path / f"icvl{len(flag)}.npz"
        assert main(["pose-bank", "--from", f"icvl:{A2J_ICVL}", "--every", "100", "--iterations", "100",
                     "--out", str(out), *flag]) == 0
        assert "IK fit error mean" in capsys.readouterr().out
        with np.load(out) as z:
            beyond[bool(flag)] = np.rad2deg(beyond_limits(z["theta"], 10.0).max())
    assert beyond[False] < 0.01 and beyond[True] > 30.0, beyond


def test_landmark_shards_for_the_lifter(tmp_path, capsys):
    from app import cli
    from models.lifter.detector_data import DetectorShards

    out = tmp_path / "landmarks"
    assert cli.main(["gen-data", "--kind", "landmarks", "--sequences", "2", "--frames", "4", "--per-shard", "1",
                     "--seed", "5", "--out", str(out)]) == 0
    assert "2 shard(s)" in capsys.readouterr().out
    assert DetectorShards(out).arrays["landmarks"].shape == (2, 4, 21, 2)
