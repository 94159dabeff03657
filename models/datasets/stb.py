"""STB, the Stereo Hand Pose Tracking Benchmark (Zhang et al. 2016), reader for the finetune stage.

Layout read (the official download): `labels/<SEQ>_BB.mat` and `labels/<SEQ>_SK.mat` with `handPara`
(3 x 21 x 1500, millimetres), images `<SEQ>/BB_left_<i>.png` (Bumblebee stereo, left camera) and
`<SEQ>/SK_color_<i>.png` (RealSense SR300 colour). SK labels are in the SR300 depth camera's frame and
are moved into the colour camera's frame with the published extrinsics. STB's joint 0 is the palm
centre, not the wrist: samples say so (`palm_root`), and the loss compares it with the midpoint of the
predicted wrist and middle-finger MCP, as the paper interpolates the hand model to STB's palm (§5).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import scipy.io

from calibration.intrinsics import CameraIntrinsics
from calibration.projection import project_mm
from models.seqhand.image_sample import ImageSample, box_around, jitter

# STB order: palm, then little, ring, middle, index, thumb (each base -> tip) -> MediaPipe order.
STB_TO_MEDIAPIPE = np.array([0, 17, 18, 19, 20, 13, 14, 15, 16, 9, 10, 11, 12, 5, 6, 7, 8, 1, 2, 3, 4])
CAMERAS = {  # both deliver 640 x 480 images
    "BB": CameraIntrinsics(fx=822.79041, fy=822.79041, cx=318.47345, cy=250.31296, width=640, height=480),
    "SK": CameraIntrinsics(fx=607.92271, fy=607.88192, cx=314.78337, cy=236.42484, width=640, height=480),
}
IMAGE_PREFIX = {"BB": "BB_left", "SK": "SK_color"}
SK_DEPTH_TO_COLOR_ROTVEC = np.array([0.00531, -0.01196, 0.00301])
SK_DEPTH_TO_COLOR_T_MM = np.array([-24.0381, -0.4563, -1.2326])
TRAIN_SEQUENCES = tuple(f"B{i}{kind}" for i in range(2, 7) for kind in ("Counting", "Random"))
TEST_SEQUENCES = ("B1Counting", "B1Random")


@dataclass
class StbOptions:
    sequences: tuple[str, ...] = TRAIN_SEQUENCES  # the usual split: B1 for testing, B2-B6 for training
    camera: str = "SK"  # SK (colour camera) or BB (stereo left)
    size: int = 128
    crop_factor: float = 2.2  # paper §5: crop side = 2.2 x the longer side of the tight box
    jitter_shift: float = 0.1
    jitter_scale: float = 0.1
    augment: bool = True
    seed: int = 0


class Stb:
    """Map-style dataset over all frames of the chosen sequences: `[i]` -> ImageSample."""

    def __init__(self, root: Path, options: StbOptions | None = None) -> None:
        self.root = Path(root)
        self.options = options or StbOptions()
        cam = self.options.camera
        if cam not in CAMERAS:
            raise ValueError(f"STB camera must be one of {', '.join(CAMERAS)}, got {cam!r}")
        if not self.root.is_dir():
            raise FileNotFoundError(f"STB folder {self.root} does not exist")
        self.joints: dict[str, np.ndarray] = {}
        self.index: list[tuple[str, int]] = []
        for seq in self.options.sequences:
            xyz = read_labels(self.root / "labels" / f"{seq}_{cam}.mat")
            if cam == "SK":
                xyz = sk_depth_to_color(xyz)
            self.joints[seq] = (xyz[:, STB_TO_MEDIAPIPE] / 1000.0).astype(np.float32)
            self.index += [(seq, i) for i in range(len(xyz))]
        self._rng = np.random.default_rng(self.options.seed)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> ImageSample:
        seq, frame = self.index[i]
        o = self.options
        path = self.root / seq / f"{IMAGE_PREFIX[o.camera]}_{frame}.png"
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise OSError(f"cannot read STB image {path}")
        xyz = self.joints[seq][frame]
        uv = project_mm(xyz, CAMERAS[o.camera])  # metres: a pinhole has no unit
        box = box_around(uv, o.crop_factor)
        if o.augment:
            box = jitter(box, self._rng, o.jitter_shift, o.jitter_scale)
        return ImageSample(
            image=box.warp(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), o.size),
            joints_2d=box.to_crop(uv),
            joints_3d=xyz.copy(),
            palm_root=True,
        )


def read_labels(path: Path) -> np.ndarray:
    """`handPara` of an STB label file -> (frames, 21, 3) millimetres in STB joint order."""
    if not path.is_file():
        raise FileNotFoundError(f"STB label file {path} does not exist")
    try:
        para = scipy.io.loadmat(str(path))["handPara"]
    except KeyError:
        raise ValueError(f"{path}: no 'handPara' variable") from None
    except Exception as exc:  # noqa: BLE001 - scipy raises several types for foreign files
        raise ValueError(f"{path}: not a readable .mat file ({type(exc).__name__})") from None
    if para.ndim != 3 or para.shape[:2] != (3, 21):
        raise ValueError(f"{path}: handPara must be 3 x 21 x frames, got {para.shape}")
    return np.transpose(para, (2, 1, 0)).astype(np.float64)


def sk_depth_to_color(xyz_mm: np.ndarray) -> np.ndarray:
    """SR300 depth-camera frame -> colour-camera frame. STB's extrinsics map colour to depth
    (x_depth = R^T x_colour + t), so the inverse is x_colour = R (x_depth - t)."""
    rot, _ = cv2.Rodrigues(SK_DEPTH_TO_COLOR_ROTVEC)
    return (xyz_mm - SK_DEPTH_TO_COLOR_T_MM) @ rot.T
