"""The on-disk synthetic dataset: a folder of shards, written resumably and byte-reproducibly, and its readers.

Format (version 1)::

    DIR/dataset.json        what was generated: kind, frames, size, seed, sequences, sequences_per_shard,
                            hand_model, pose_bank, backgrounds, options; a rerun must match it
    DIR/shard-00000.npz     sequences [0, per_shard), DIR/shard-00001.npz the next ones, ...

Each shard is an ordinary `.npz` (`np.load` reads it): every key of `SynthSequence.to_arrays()` stacked over
the shard's sequences (leading axis = sequence), plus `index` (n,) with the sequence numbers. Keys: `rgb`
(n,T,S,S,3) uint8 or `depth` (n,T,H,W) uint16 mm; `mask` uint8; `joints_2d` px, `joints_3d` mm, `vertices` mm
(float32); `theta` (45-D), `theta_pca`, `betas`, `rotation` (axis-angle), `bank_index`; RGB adds `camera`
[s, tx, ty] and `params` (n,T,26); depth adds `intrinsics` [fx, fy, cx, cy, w, h], `crop_centre_mm`, `crop_box`,
`cube_mm`. Zip members carry a fixed timestamp, so the same seed gives the same bytes. A shard is written to a
temporary name and renamed into place, so an interrupted run leaves only complete shards; rerunning the
same command skips them and writes the rest.
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

FORMAT = "handstream-synth"
VERSION = 1
MANIFEST = "dataset.json"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def shard_name(number: int) -> str:
    return f"shard-{number:05d}.npz"


def shard_ranges(sequences: int, per_shard: int) -> list[tuple[int, int]]:
    """[start, stop) sequence ranges of each shard."""
    return [(s, min(s + per_shard, sequences)) for s in range(0, sequences, per_shard)]


def stack_records(records: list[dict[str, np.ndarray]], indices: list[int]) -> dict[str, np.ndarray]:
    keys = list(records[0])
    out = {k: np.stack([r[k] for r in records]) for k in keys}
    out["index"] = np.asarray(indices, dtype=np.int64)
    return out


def write_shard(path: Path, arrays: dict[str, np.ndarray], compress: bool = True) -> Path:
    """Write an `.npz` deterministically (fixed member timestamps), atomically (temp file + rename)."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    try:
        with zipfile.ZipFile(tmp, "w", compression=method, compresslevel=1 if compress else None) as zf:
            for key, value in arrays.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.ascontiguousarray(value), allow_pickle=False)
                info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_TIME)
                info.compress_type = method
                info.external_attr = 0o644 << 16
                zf.writestr(info, buf.getvalue())
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_shard(path: Path | str) -> dict[str, np.ndarray]:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"shard {path} is not a readable .npz: {exc}") from None


def check_manifest(out: Path, manifest: dict) -> None:
    """Create DIR/dataset.json, or make sure an existing one describes the same dataset (safe resume)."""
    path = out / MANIFEST
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError):
            raise ValueError(f"{path} is not a readable dataset manifest; use an empty --out folder") from None
        if old != manifest:
            diff = sorted(k for k in set(old) | set(manifest) if old.get(k) != manifest.get(k))
            raise ValueError(f"{out} already holds a dataset made with other settings ({', '.join(diff)}); "
                             "use another --out folder or the same arguments")
        return
    tmp = path.with_name(MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def remove_partial(out: Path) -> int:
    """Delete temporary files a killed run left behind; returns how many."""
    stale = list(out.glob("shard-*.npz.tmp-*"))
    for p in stale:
        p.unlink(missing_ok=True)
    return len(stale)


class ShardReader:
    """Reads a dataset folder: `len()` sequences, iteration yields one `to_arrays()`-style dict per sequence."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        path = self.folder / MANIFEST
        if not path.is_file():
            raise FileNotFoundError(f"{self.folder} is not a synthetic dataset (no {MANIFEST})")
        try:
            self.manifest = json.loads(path.read_text())
        except ValueError:
            raise ValueError(f"{path} is not valid JSON") from None
        if self.manifest.get("format") != FORMAT or self.manifest.get("version") != VERSION:
            raise ValueError(f"{path}: not a {FORMAT} v{VERSION} dataset")
        ranges = shard_ranges(self.manifest["sequences"], self.manifest["sequences_per_shard"])
        self.shards = [self.folder / shard_name(i) for i in range(len(ranges))]
        self.missing = [p for p in self.shards if not p.is_file()]
        self._sizes = [b - a for a, b in ranges]

    @property
    def complete(self) -> bool:
        return not self.missing

    def __len__(self) -> int:
        return sum(n for p, n in zip(self.shards, self._sizes) if p.is_file())

    def iter_sequences(self, shards: list[Path] | None = None) -> Iterator[dict[str, np.ndarray]]:
        for path in (self.shards if shards is None else shards):
            if not path.is_file():
                continue
            arrays = read_shard(path)
            for i in range(len(arrays["index"])):
                yield {k: v[i] for k, v in arrays.items()}

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        return self.iter_sequences()
