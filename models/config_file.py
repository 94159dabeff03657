"""TOML config files → typed dataclasses, with one-line errors that name the file, the table and the key.

Shared by the SeqHAND-Net and CADSTN training configs (models/configs/*.toml).
"""
from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any, get_type_hints


def read_toml(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config {path} does not exist")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None


def fill_table(cls: type, table: Any, path: Path | str, name: str) -> Any:
    """An instance of dataclass `cls` from TOML table [name]: unknown keys and wrong types are errors;
    an integer where a float is expected is accepted, a bool is never an int."""
    if not isinstance(table, dict):
        raise ValueError(f"{path}: [{name}] must be a table")
    hints = get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    values = {}
    for key, value in table.items():
        if key not in known:
            raise ValueError(f"{path}: unknown key {name}.{key} (expected one of {', '.join(sorted(known))})")
        expected = hints[key]
        origin = getattr(expected, "__origin__", expected)
        if origin is list:
            item = expected.__args__[0]  # list[int], list[float] (ints are floats too) or list[str]
            kinds = (int, float) if item is float else (item,)
            ok = isinstance(value, list) and all(isinstance(v, kinds) and not isinstance(v, bool) for v in value)
            value = [item(v) for v in value] if ok else value
        elif expected is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        else:
            ok = isinstance(value, origin) and not (origin is not bool and isinstance(value, bool))
        if not ok:
            raise ValueError(f"{path}: {name}.{key} must be {getattr(expected, '__name__', expected)}, got {value!r}")
        values[key] = value
    return cls(**values)
