"""Photos as a source: one image file, a folder of images or a glob, in name order, one frame each.

Why: people have photos of hands, not only cameras. Frames carry no camera of their own unless one is given
(``--calibration``): the engine then assumes a webcam's field of view for each image's size. Unrelated
photos want ``--stills`` (each one a fresh sequence, MediaPipe in IMAGE mode); a numbered sequence of frames
does not.
"""
from __future__ import annotations

import glob
from pathlib import Path

from calibration.intrinsics import CameraIntrinsics
from engine.capture import CaptureSource
from engine.frames import Frame

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
FRAME_SECONDS = 1.0 / 30.0  # photos get media timestamps 1/30 s apart


def image_files(spec: str) -> list[Path]:
    """The images ``spec`` names (a file, a folder's images, or a glob pattern), sorted; [] if none."""
    path = Path(spec).expanduser()
    if path.is_file():
        return [path] if path.suffix.lower() in IMAGE_SUFFIXES else []
    if path.is_dir():
        found = path.iterdir()
    elif glob.has_magic(spec):
        found = (Path(p) for p in glob.glob(str(Path(spec).expanduser())))
    else:
        return []
    return sorted(p for p in found if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


class ImageSource(CaptureSource):
    """``files`` one after the other, as fast as they are read; an unreadable image is a one-line error."""

    def __init__(self, files: list[Path], name: str, *, intrinsics: CameraIntrinsics | None = None,
                 queue_size: int = 2) -> None:
        if not files:
            raise FileNotFoundError(f"source {name} is neither a recorded session nor holds images "
                                    f"({', '.join(IMAGE_SUFFIXES)})")
        super().__init__(name, realtime=False, queue_size=queue_size)
        self.files = list(files)
        self._given_intrinsics = intrinsics

    def _open(self) -> None:
        self.intrinsics = self._given_intrinsics

    def _grab(self) -> Frame | None:
        import cv2

        if self._next_index >= len(self.files):
            return None
        path = self.files[self._next_index]
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise OSError(f"image {path} cannot be read (missing or not an image)")
        return self._make_frame(self._next_index * FRAME_SECONDS, bgr[..., ::-1].copy(), None)
