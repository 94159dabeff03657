"""Speed of the full CADSTN depth path per frame: centre of mass, crop, (in-graph) volume, inference.

`handstream bench` can call `measure_depth_path`; it reports medians so a noisy shared machine
does not hide the typical cost.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calibration.intrinsics import CameraIntrinsics
from models import depth_crop

D435 = CameraIntrinsics(fx=615.0, fy=615.0, cx=320.0, cy=240.0, width=640, height=480)


@dataclass
class DepthPathSpeed:
    frames: int
    centre_ms: float  # medians per frame
    crop_ms: float
    inference_ms: float
    total_ms: float

    @property
    def fps(self) -> float:
        return 1000.0 / self.total_ms

    def summary(self) -> str:
        return (f"{self.frames} frames: centre {self.centre_ms:.2f} ms, crop {self.crop_ms:.2f} ms, "
                f"inference {self.inference_ms:.2f} ms, total {self.total_ms:.2f} ms = {self.fps:.0f} fps")


def test_frame(width: int = 640, height: int = 480) -> np.ndarray:
    """A 640×480 depth frame with a hand-sized blob at 450 mm in front of a wall (1.5 m), plus holes."""
    rng = np.random.default_rng(0)
    depth = np.full((height, width), 1500, np.uint16)
    vv, uu = np.mgrid[0:height, 0:width]
    blob = ((uu - 350) / 110.0) ** 2 + ((vv - 220) / 140.0) ** 2 < 1.0
    depth[blob] = (450 + 20 * np.sin(uu[blob] / 9.0)).astype(np.uint16)
    depth[rng.random((height, width)) < 0.02] = 0
    return depth


def open_session(model: Path, threads: int = 2):
    import onnxruntime as ort

    model = Path(model)
    if not model.is_file():
        raise FileNotFoundError(f"model {model} does not exist")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


def measure_depth_path(model: Path, frames: int = 200, threads: int = 2, depth: np.ndarray | None = None,
                       intrinsics: CameraIntrinsics = D435) -> DepthPathSpeed:
    """Run the whole per-frame depth path `frames` times on one frame (a test frame by default)."""
    import json

    session = open_session(model, threads)
    meta = session.get_modelmeta().custom_metadata_map
    cube, size = float(meta["cube_mm"]), int(meta["crop_size"])
    state_shape = json.loads(meta["state_shape"])
    needs_volume = any(i.name == "volume" for i in session.get_inputs())
    depth = test_frame(intrinsics.width, intrinsics.height) if depth is None else depth
    h = np.zeros(state_shape, np.float32)
    c = np.zeros(state_shape, np.float32)
    times = []
    for i in range(frames + 10):
        t0 = time.perf_counter()
        centre = depth_crop.hand_centre_mm(depth, intrinsics, cube_mm=cube)
        t1 = time.perf_counter()
        crop = depth_crop.crop_depth(depth, centre, intrinsics, cube_mm=cube, size=size)
        feeds = {"depth": crop.depth[None, None], "h": h, "c": c}
        if needs_volume:
            feeds["volume"] = depth_crop.sliced_volume(crop.depth, int(meta.get("slices", 8)))[None]
        t2 = time.perf_counter()
        joints, h, c = session.run(["joints", "h_out", "c_out"], feeds)
        depth_crop.joints_to_camera_mm(joints[0], crop)
        t3 = time.perf_counter()
        if i >= 10:  # warm-up
            times.append((t1 - t0, t2 - t1, t3 - t2, t3 - t0))
    med = np.median(np.asarray(times), axis=0) * 1000.0
    return DepthPathSpeed(frames=frames, centre_ms=float(med[0]), crop_ms=float(med[1]),
                          inference_ms=float(med[2]), total_ms=float(med[3]))
