"""Convert the official MANO pickles (which store chumpy objects) into plain-numpy MANO files, without chumpy.

chumpy does not import on Python >= 3.11, so we never import it: the unpickler maps every chumpy class to a tiny
stand-in that only keeps its pickled state, and a plain `Ch` object's state holds its value as the array `x`.
The output has the same keys and is what `smplx.MANO` and `load_hand_model` read (HANDSTREAM_MANO_DIR / --mano-dir).
Converting MANO_LEFT.pkl next to MANO_RIGHT.pkl also fixes the official left file's unmirrored `shapedirs`.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.hand.file import is_safe_global, read_hand_file, write_hand_file

MANO_FILES = ("MANO_RIGHT.pkl", "MANO_LEFT.pkl")


class _ChumpyState:
    """Stands in for any chumpy class while unpickling; keeps the pickled attribute dict."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _ChumpyFreeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module.split(".")[0] == "chumpy":
            return _ChumpyState
        if is_safe_global(module, name):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected class {module}.{name}")


def _plain(value: Any, key: str, src: Path) -> Any:
    if isinstance(value, _ChumpyState):
        state = value.state if isinstance(value.state, dict) else {}
        if "x" not in state:
            raise ValueError(f"{src}: {key} is a chumpy expression, not a stored array; cannot convert it")
        return np.asarray(state["x"], dtype=np.float64)
    if hasattr(value, "toarray"):  # scipy sparse (J_regressor): store dense, it is small
        return np.asarray(value.toarray(), dtype=np.float64)
    return value


def read_official_mano(src: Path) -> dict[str, Any]:
    """The arrays of an official (chumpy) or already converted MANO pickle, as plain numpy."""
    src = Path(src)
    if not src.is_file():
        raise FileNotFoundError(f"{src}: MANO file not found")
    try:
        with src.open("rb") as fh:
            data = _ChumpyFreeUnpickler(fh, encoding="latin1").load()
    except Exception as exc:  # noqa: BLE001 - any failure means the file is not a MANO pickle
        raise ValueError(f"{src}: not a MANO pickle ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{src}: not a MANO pickle (found {type(data).__name__}, expected a dict)")
    return {key: _plain(value, key, src) for key, value in data.items()}


@dataclass(frozen=True)
class Converted:
    """Where a converted file went, and whether the known MANO_LEFT shape bug was fixed on the way."""

    path: Path
    fixed_left_shapedirs: bool = False


def _fix_left_shapedirs(arrays: dict[str, Any], src: Path) -> bool:
    """The official MANO_LEFT.pkl ships the right hand's `shapedirs` unmirrored (smplx issue #48), so the same
    betas give differently shaped hands; when MANO_RIGHT.pkl lies beside it and the two are equal, negate x."""
    if "LEFT" not in src.name:
        return False
    right_path = src.with_name(src.name.replace("LEFT", "RIGHT"))
    if not right_path.is_file():
        return False
    right = read_official_mano(right_path)
    left_dirs = np.asarray(arrays["shapedirs"])
    if right["shapedirs"].shape != left_dirs.shape or not np.allclose(left_dirs, right["shapedirs"]):
        return False
    fixed = np.array(left_dirs, dtype=np.float64, copy=True)
    fixed[:, 0, :] *= -1.0
    arrays["shapedirs"] = fixed
    arrays["handstream_fix"] = "shapedirs x negated: the official file repeats the right hand's (smplx issue #48)"
    return True


def convert_mano(src: Path, out: Path) -> Converted:
    """Convert `src` into the folder `out` (same file name) and check the result loads."""
    src = Path(src)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: --out must be a folder")
    target = out / src.name
    if target.resolve() == src.resolve():
        raise ValueError(f"{target}: would overwrite the source; choose another --out folder")
    arrays = read_official_mano(src)
    if "shapedirs" not in arrays:
        raise ValueError(f"{src}: no shapedirs; not a MANO model file")
    fixed = _fix_left_shapedirs(arrays, src)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"{out}: cannot create the output folder ({exc.strerror})") from None
    write_hand_file(target, arrays)
    try:
        read_hand_file(target)
    except ValueError:
        target.unlink()
        raise
    return Converted(target, fixed)


def sources(src: Path) -> list[Path]:
    """`src` itself, or MANO_RIGHT.pkl / MANO_LEFT.pkl inside it when it is a folder."""
    src = Path(src)
    if src.is_dir():
        found = [src / name for name in MANO_FILES if (src / name).is_file()]
        if not found:
            raise FileNotFoundError(f"{src}: holds neither {' nor '.join(MANO_FILES)}")
        return found
    if not src.exists():
        raise FileNotFoundError(f"{src}: MANO file not found")
    return [src]
