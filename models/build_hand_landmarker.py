"""Build ``weights/hand_landmarker.task`` from the Apache-2.0 hand models inside a MediaPipe wheel.

Why: MediaPipe >= 0.10.30 ships neither the hand models nor the legacy ``solutions`` API; the Tasks
API's HandLandmarker wants a ``.task`` bundle, which is an *uncompressed* zip holding
``hand_detector.tflite`` (palm detection) and ``hand_landmarks_detector.tflite``. The 0.10.21 wheel
still carries both models. Run once, offline:

    python -m models.build_hand_landmarker --wheel mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl \
        --out weights/hand_landmarker.task

Only the ``full`` models work in a bundle: the ``lite`` palm detector lacks the normalisation
metadata the Tasks API requires.

It also writes ``weights/LICENSE-mediapipe.txt`` (the wheel's Apache-2.0 license) beside the bundle.
"""
from __future__ import annotations

import argparse
import hashlib
import zipfile
from pathlib import Path

MEMBERS = {
    "hand_detector.tflite": "mediapipe/modules/palm_detection/palm_detection_{variant}.tflite",
    "hand_landmarks_detector.tflite": "mediapipe/modules/hand_landmark/hand_landmark_{variant}.tflite",
}
LICENSE_MEMBER_SUFFIX = ".dist-info/LICENSE"


def build_bundle(wheel: Path, out: Path, variant: str = "full") -> Path:
    """Write the uncompressed ``.task`` zip (fixed member order and timestamps: reproducible bytes)."""
    if variant != "full":
        raise ValueError(f"variant must be full (the lite palm detector lacks Tasks metadata), got {variant!r}")
    if not wheel.is_file():
        raise FileNotFoundError(f"MediaPipe wheel {wheel} does not exist")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        for member in MEMBERS.values():
            if member.format(variant=variant) not in names:
                raise ValueError(f"{wheel} lacks {member.format(variant=variant)} (use mediapipe <= 0.10.21)")
        tmp = out.with_suffix(out.suffix + ".tmp")
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as task:
            for target, member in MEMBERS.items():
                info = zipfile.ZipInfo(target, date_time=(2025, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_STORED
                task.writestr(info, whl.read(member.format(variant=variant)))
        tmp.replace(out)
        license_name = next((n for n in names if n.endswith(LICENSE_MEMBER_SUFFIX)), None)
        if license_name:
            (out.parent / "LICENSE-mediapipe.txt").write_bytes(whl.read(license_name))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, required=True, help="a mediapipe <= 0.10.21 wheel file")
    parser.add_argument("--out", type=Path, default=Path("weights/hand_landmarker.task"))
    args = parser.parse_args()
    path = build_bundle(args.wheel, args.out)
    print(f"{path}: {path.stat().st_size} bytes, sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
