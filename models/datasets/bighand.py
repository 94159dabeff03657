"""BigHand2.2M (Yuan et al. 2017) annotation reader, for real pose banks of the synthetic data.

`Training_Annotation.txt` holds one line per depth frame: the image name, then 21 joints as x y z in mm
(camera space) in BigHand order — wrist; the MCPs of thumb, index, middle, ring, pinky; then per finger
(thumb ... pinky) PIP, DIP, tip. `models.synth.ik.BIGHAND21` ties that order to our 21 keypoints.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Depth camera of BigHand2.2M (Intel RealSense SR300), from the dataset's documentation.
BIGHAND_INTRINSICS = (475.065948, 475.065857, 315.944855, 245.287079)


@dataclass
class BigHandAnnotations:
    names: list[str]  # image file name per frame
    joints_mm: np.ndarray  # (N, 21, 3) float64, BigHand joint order


def read_bighand_annotations(path: Path | str, limit: int | None = None, every: int = 1) -> BigHandAnnotations:
    """Parse `Training_Annotation.txt` (every `every`-th line, at most `limit` of them); a malformed line is a
    one-line ValueError naming file and line. Rows are packed into float32 blocks as they are read, so the
    full 2.2M-frame file needs ~0.6 GB, not Python floats' ~10 GB."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"BigHand annotation file {path} does not exist")
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    names: list[str] = []
    rows: list[list[float]] = []
    blocks: list[np.ndarray] = []
    count = 0
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            parts = line.split()
            if not parts:
                continue
            count += 1
            if (count - 1) % every:
                continue
            try:
                values = [float(v) for v in parts[1:]]
            except ValueError:
                values = []
            if len(values) != 63:
                raise ValueError(f"{path}:{number}: expected an image name and 63 numbers (21 joints x xyz mm)")
            names.append(parts[0])
            rows.append(values)
            if len(rows) == 65536:
                blocks.append(np.asarray(rows, dtype=np.float32))
                rows = []
            if limit is not None and len(names) >= limit:
                break
    if rows:
        blocks.append(np.asarray(rows, dtype=np.float32))
    if not names:
        raise ValueError(f"BigHand annotation file {path} holds no annotations")
    return BigHandAnnotations(names, np.concatenate(blocks).astype(np.float64).reshape(-1, 21, 3))
