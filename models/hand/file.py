"""Reading and writing hand models in the MANO pickle format, safely and with one-line errors.

Only numpy arrays (and scipy sparse matrices, which the official MANO uses for `J_regressor`) may come out of the
file: the unpickler refuses any other class, so a hand-model file cannot run code, and a chumpy pickle is recognised
and answered with the conversion command instead of an ImportError deep inside pickle.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

REQUIRED_KEYS = ("v_template", "f", "J_regressor", "kintree_table", "weights", "posedirs", "shapedirs",
                 "hands_components", "hands_mean")
NUM_JOINTS = 16

# (module, name) pairs a numpy/scipy pickle legitimately needs (Python 2 and 3 spellings).
_ALLOWED = {
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"), ("builtins", "set"), ("builtins", "frozenset"), ("__builtin__", "set"),
    ("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"), ("__builtin__", "object"),
    ("builtins", "object"), ("_codecs", "encode"),
}


def is_safe_global(module: str, name: str) -> bool:
    """Whether a pickle may reference this class/function: numpy arrays and scipy sparse matrices only."""
    if (module, name) in _ALLOWED:
        return True
    return module.startswith("scipy.sparse") and name.endswith(("_matrix", "_array"))


class HandFileError(ValueError):
    """A hand-model file that cannot be used; the message names the file and what is wrong."""


class ChumpyPickleError(HandFileError):
    """The file is an official MANO pickle that stores chumpy objects."""


class _SafeUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, path: Path) -> None:
        super().__init__(file, encoding="latin1")
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        if module.split(".")[0] == "chumpy":
            raise ChumpyPickleError(
                f"{self._path}: stores chumpy objects (the official MANO download); convert it once with "
                f"`handstream convert-mano --src {self._path} --out DIR` and use DIR")
        if is_safe_global(module, name):
            return super().find_class(module, name)
        raise HandFileError(f"{self._path}: not a hand-model pickle (it references {module}.{name})")


def load_pickle(path: Path) -> dict[str, Any]:
    """The raw dict of a MANO-format pickle; ValueError/FileNotFoundError with the file name when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: hand model file not found")
    try:
        with path.open("rb") as fh:
            data = _SafeUnpickler(fh, path).load()
    except HandFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not a usable file"
        raise HandFileError(f"{path}: not a readable hand-model pickle ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise HandFileError(f"{path}: expected a dict of arrays, found {type(data).__name__}")
    return data


def _dense(value: Any) -> np.ndarray:
    if hasattr(value, "toarray"):
        return np.asarray(value.toarray())
    return np.asarray(value)


def read_hand_file(path: Path) -> dict[str, np.ndarray]:
    """Load and check a MANO-format hand model: every required key present with consistent shapes, all dense."""
    path = Path(path)
    raw = load_pickle(path)
    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        raise HandFileError(f"{path}: missing key(s) {', '.join(missing)}; not a MANO-format hand model")
    arrays = {k: _dense(v) for k, v in raw.items() if not isinstance(v, str)}
    arrays.update({k: v for k, v in raw.items() if isinstance(v, str)})
    v = arrays["v_template"]
    if v.ndim != 2 or v.shape[1] != 3 or v.shape[0] < 4:
        raise HandFileError(f"{path}: v_template has shape {v.shape}, expected (V, 3)")
    n = v.shape[0]
    expected = {
        "f": (None, 3),
        "J_regressor": (NUM_JOINTS, n),
        "kintree_table": (2, NUM_JOINTS),
        "weights": (n, NUM_JOINTS),
        "posedirs": (n, 3, 135),
        "shapedirs": (n, 3, None),
        "hands_components": (45, 45),
        "hands_mean": (45,),
    }
    for key, shape in expected.items():
        got = arrays[key].shape
        if len(got) != len(shape) or any(s is not None and s != g for s, g in zip(shape, got)):
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise HandFileError(f"{path}: {key} has shape {got}, expected {want}")
    faces = arrays["f"]
    if faces.size and (faces.min() < 0 or faces.max() >= n):
        raise HandFileError(f"{path}: f indexes vertices outside 0..{n - 1}")
    for key in ("v_template", "weights", "posedirs", "shapedirs", "J_regressor"):
        if not np.all(np.isfinite(arrays[key])):
            raise HandFileError(f"{path}: {key} contains NaN or infinite values")
    return arrays


def write_hand_file(path: Path, arrays: dict[str, Any]) -> Path:
    """Write a plain-numpy MANO-format pickle (protocol 4, loadable by smplx.MANO) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        pickle.dump(arrays, fh, protocol=4)
    tmp.replace(path)
    return path
