"""Converting the official (chumpy) MANO pickles without chumpy, and the CLI around it."""
from __future__ import annotations

import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse

from app.cli import main
from models.hand.file import read_hand_file
from models.hand.mano_convert import convert_mano
from models.hand.model import MANO_DIR_ENV, OPEN_MODEL_PATH, load_hand_model


def _fake_chumpy(monkeypatch: pytest.MonkeyPatch) -> type:
    """A stand-in `chumpy` package whose `Ch` pickles like the real one (its __dict__ with the value in `x`)."""
    chumpy = types.ModuleType("chumpy")
    ch_module = types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x):
            self.x = np.asarray(x, dtype=np.float64)
            self._dirty_vars = set()
            self._itr = None
            self._make_dense = False
            self._make_sparse = False

        def __getstate__(self):
            return dict(self.__dict__)

    class MatVecMult:  # a derived expression: no stored `x`
        def __init__(self, a):
            self.a = a

        def __getstate__(self):
            return {"a": self.a}

    Ch.__module__ = MatVecMult.__module__ = "chumpy.ch"
    Ch.__qualname__, MatVecMult.__qualname__ = "Ch", "MatVecMult"
    ch_module.Ch, ch_module.MatVecMult = Ch, MatVecMult
    chumpy.ch = ch_module
    monkeypatch.setitem(sys.modules, "chumpy", chumpy)
    monkeypatch.setitem(sys.modules, "chumpy.ch", ch_module)
    return ch_module


def _left_with_the_official_bug() -> dict:
    """Our model's left hand as MANO_LEFT.pkl is shipped: mirrored, except shapedirs copied from the right."""
    right = load_hand_model(OPEN_MODEL_PATH)
    left = right.mirrored()
    return {"v_template": left.v_template, "f": left.faces, "J_regressor": left.J_regressor,
            "kintree_table": np.stack([left.parents, np.arange(16)]), "weights": left.weights,
            "posedirs": left.posedirs, "shapedirs": right.shapedirs, "hands_components": left.hands_components,
            "hands_mean": left.hands_mean}


def _write_official(path: Path, monkeypatch: pytest.MonkeyPatch, derived: bool = False,
                    arrays: dict | None = None) -> dict:
    """A MANO_*.pkl shaped like the official download: chumpy arrays, a sparse J_regressor, protocol 2."""
    ch = _fake_chumpy(monkeypatch)
    arrays = read_hand_file(OPEN_MODEL_PATH) if arrays is None else arrays
    official = {
        "v_template": ch.Ch(arrays["v_template"]),
        "shapedirs": ch.Ch(arrays["shapedirs"]),
        "posedirs": ch.MatVecMult(1) if derived else arrays["posedirs"],
        "J_regressor": scipy.sparse.csc_matrix(arrays["J_regressor"]),
        "weights": ch.Ch(arrays["weights"]),
        "f": arrays["f"].astype(np.uint32),
        "kintree_table": arrays["kintree_table"],
        "hands_components": arrays["hands_components"],
        "hands_mean": arrays["hands_mean"],
        "hands_coeffs": np.zeros((4, 45)),
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }
    path.write_bytes(pickle.dumps(official, protocol=2))
    monkeypatch.delitem(sys.modules, "chumpy")
    monkeypatch.delitem(sys.modules, "chumpy.ch")
    return arrays


def test_official_pickle_is_refused_with_the_conversion_hint(tmp_path, monkeypatch):
    src = tmp_path / "MANO_RIGHT.pkl"
    _write_official(src, monkeypatch)
    with pytest.raises(ValueError) as exc:
        load_hand_model(src)
    message = str(exc.value)
    assert "\n" not in message and str(src) in message and "convert-mano" in message


def test_convert_then_load_through_mano_dir(tmp_path, monkeypatch):
    src = tmp_path / "download" / "MANO_RIGHT.pkl"
    src.parent.mkdir()
    arrays = _write_official(src, monkeypatch)
    out = tmp_path / "mano"
    done = convert_mano(src, out)
    target = done.path
    assert target == out / "MANO_RIGHT.pkl" and not done.fixed_left_shapedirs
    assert "chumpy" not in sys.modules
    converted = read_hand_file(target)
    for key in ("v_template", "shapedirs", "weights", "J_regressor", "f", "hands_mean"):
        np.testing.assert_array_equal(converted[key], arrays[key])
    assert converted["bs_style"] == "lbs"

    monkeypatch.setenv(MANO_DIR_ENV, str(out))
    mano = load_hand_model()
    ours = load_hand_model(OPEN_MODEL_PATH)
    assert mano.path == target
    rng = np.random.default_rng(5)
    pose, betas = rng.normal(size=(2, 10)), rng.normal(size=(2, 10))
    np.testing.assert_allclose(mano.forward(pose, betas).vertices, ours.forward(pose, betas).vertices, atol=1e-12)

    torch = pytest.importorskip("torch")
    smplx = pytest.importorskip("smplx")
    torch.set_num_threads(1)
    assert smplx.MANO(model_path=str(target), use_pca=True, num_pca_comps=10).v_template.shape[0] == mano.num_vertices


def test_derived_chumpy_expressions_are_named(tmp_path, monkeypatch):
    src = tmp_path / "MANO_RIGHT.pkl"
    _write_official(src, monkeypatch, derived=True)
    with pytest.raises(ValueError, match="posedirs"):
        convert_mano(src, tmp_path / "out")
    assert not (tmp_path / "out" / "MANO_RIGHT.pkl").exists()


def test_cli_converts_a_folder_and_reports_errors_in_one_line(tmp_path, monkeypatch, capsys):
    download = tmp_path / "models"
    download.mkdir()
    _write_official(download / "MANO_RIGHT.pkl", monkeypatch)
    out = tmp_path / "converted"
    assert main(["convert-mano", "--src", str(download), "--out", str(out)]) == 0
    assert (out / "MANO_RIGHT.pkl").is_file()
    assert "--mano-dir" in capsys.readouterr().out

    assert main(["convert-mano", "--src", str(tmp_path / "missing.pkl"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("handstream: error:") and "missing.pkl" in err and "\n" not in err

    garbage = tmp_path / "MANO_LEFT.pkl"
    garbage.write_bytes(b"not a pickle")
    assert main(["convert-mano", "--src", str(garbage), "--out", str(out)]) == 2
    assert "MANO_LEFT.pkl" in capsys.readouterr().err
    assert not (out / "MANO_LEFT.pkl").exists()


def test_left_shapedirs_bug_is_fixed_when_converting_both_hands(tmp_path, monkeypatch, capsys):
    download = tmp_path / "models"
    download.mkdir()
    _write_official(download / "MANO_RIGHT.pkl", monkeypatch)
    _write_official(download / "MANO_LEFT.pkl", monkeypatch, arrays=_left_with_the_official_bug())
    out = tmp_path / "mano"
    assert main(["convert-mano", "--src", str(download), "--out", str(out)]) == 0
    assert "smplx issue #48" in capsys.readouterr().out
    right_dirs = read_hand_file(out / "MANO_RIGHT.pkl")["shapedirs"]
    left_dirs = read_hand_file(out / "MANO_LEFT.pkl")["shapedirs"]
    np.testing.assert_array_equal(left_dirs[:, 0], -right_dirs[:, 0])
    np.testing.assert_array_equal(left_dirs[:, 1:], right_dirs[:, 1:])

    # With the fix, the licensed pair follows the documented mirror convention for any betas.
    from models.hand.model import mirror_points, mirror_pose

    monkeypatch.setenv(MANO_DIR_ENV, str(out))
    right, left = load_hand_model(side="right"), load_hand_model(side="left")
    rng = np.random.default_rng(6)
    pose, betas = rng.normal(size=(2, 45)) * 0.3, rng.normal(size=(2, 10)) * 2.0
    np.testing.assert_allclose(left.forward(mirror_pose(pose), betas).vertices,
                               mirror_points(right.forward(pose, betas).vertices), atol=1e-9)

    # A single left file (no right one beside it) is converted as is.
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "MANO_LEFT.pkl").write_bytes((download / "MANO_LEFT.pkl").read_bytes())
    assert not convert_mano(alone / "MANO_LEFT.pkl", tmp_path / "out_alone").fixed_left_shapedirs
