"""CADSTN live: a DeepPrior-style depth crop around each detected hand → 21 joints in the crop's cube
→ camera-space millimetres.

Why a detection every frame: the crop is a metric cube around the hand's centre, which the depth
detector finds cheaply and exactly on every frame; the crop is then re-cut ``depth_recentre`` times
around the joints the network finds in it (each re-cut is one more look, without advancing the
state). ``step`` is that path for one hand, also run by ``engine.evaluate_live``.

Why the crop's turn comes from joints: an upright crop turned by its own principal axis flips by 180° whenever
the hand's outline is nearly symmetric, and the network then sees a hand upside down. The wrist → middle-knuckle
direction has no such ambiguity, so the crop is turned by the colour detector's landmarks (RGB-D) or the
previous frame's joints, and only a new hand's first look uses the principal axis; a re-cut that turns the crop by
more than 30° (a stale turn: a hand that turned fast, or a first look upside down) is looked at again, at most
twice (`models.depth_crop.recentred_crop`). An RGB-D model also reads the landmarks as heatmaps
(`models.cadstn.keypoints`); without colour it gets none, as in training.

Why a placer: the depth detector cuts some crops down the forearm, and CADSTN, trained on crops around the hand,
reads a hand at their centre. A small network beside the model (``<model>_placer.onnx``, `models.cadstn.placer`)
looks first at a crop the detector cut and moves it to the hand it finds when that lies more than PLACER_MOVE_MM
away; nearer, CADSTN's own re-cut is the more precise. Crops placed by MediaPipe's landmarks do not need it.

Why an RGB-D model's joints are pulled towards the landmarks (``EngineOptions.landmark_pull``): the heatmaps help
the network, but a colour detector places joints in the image more precisely than a 64-pixel depth crop does, while
only the depth says how far away they are. So each joint keeps CADSTN's depth and moves part of the way to its
landmark in the image (`pull_to_landmarks`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calibration.intrinsics import CameraIntrinsics
from calibration.projection import pixel_to_camera_mm, project_mm
from engine.estimators.base import Estimator, FrameContext
from engine.frames import Frame
from engine.options import EngineOptions
from engine.results import HandResult
from engine.runtime import ModelInfo, ModelSession
from engine.tracks import Detection, Track

# the placer moves a crop only when it finds the hand farther than this from the crop's centre: CADSTN was trained
# on crops displaced by N(0, 12 mm) per axis, nearly all within this, and re-cuts those more precisely itself
PLACER_MOVE_MM = 40.0


class PlacerContract:
    """The placer file's contract for `engine.runtime.ModelSession`: depth crop → joints, no state."""

    kind = "cadstn_placer"
    inputs = ("depth",)
    outputs = ("joints",)

    @staticmethod
    def read_info(info: ModelInfo, meta: dict[str, str], inputs: dict) -> None:
        info.cube_mm = float(meta["cube_mm"])
        info.crop_size = int(meta["crop_size"])
        info.upright = meta["upright"] == "true"

    @staticmethod
    def example_inputs(info: ModelInfo) -> dict[str, np.ndarray]:
        return {"depth": np.ones((1, 1, info.crop_size, info.crop_size), np.float32)}


def pull_to_landmarks(joints_mm: np.ndarray, landmarks_px: np.ndarray, intrinsics: CameraIntrinsics,
                      pull: float) -> np.ndarray:
    """Joints (21, 3) camera mm moved ``pull`` of the way to the landmarks (21, 2) px in the image, each at its own
    depth.

    Why 0.25 by default: the largest of 0.25, 0.5, 0.75 and 1 that did not make MediaPipe's own landmarks on the
    development seed's RGB-D renders worse; the simulated detector, as precise in the image as MediaPipe is on real
    photos, gains more from larger pulls (weights/cadstn_compact.onnx.md, "Landmarks pull the joints").
    """
    if pull == 0.0 or not np.isfinite(landmarks_px).all():
        return joints_mm
    uv = project_mm(joints_mm, intrinsics)
    uv = uv + pull * (np.asarray(landmarks_px, np.float64) - uv)
    return pixel_to_camera_mm(np.concatenate([uv, joints_mm[:, 2:3]], axis=1), intrinsics)


def placer_path(model_path: Path) -> Path:
    """Where a CADSTN file's placer lies: beside it, ``<stem>_placer.onnx``."""
    return model_path.with_name(model_path.stem + "_placer.onnx")


@dataclass
class DepthStep:
    """One hand through CADSTN: its crop (``models.depth_crop.DepthCrop``), the joints in camera mm, the
    new recurrent state, and the seconds spent in the network (the re-cutting looks and the step)."""

    crop: object
    joints_mm: np.ndarray
    state: dict
    inference_s: float


class CadstnEstimator(Estimator):
    kind = "cadstn"
    inputs = ("depth",)
    outputs = ("joints",)
    image = "depth"
    detectors = ("depth", "mediapipe")
    follows_predictions = False

    def __init__(self, model: ModelSession, options: EngineOptions) -> None:
        super().__init__(model, options)
        self.placer = self._load_placer(model, options) if options.depth_placer else None

    @staticmethod
    def _load_placer(model: ModelSession, options: EngineOptions) -> ModelSession | None:
        """The placer beside the model's file, if there is one; one made for other crops is a one-line error."""
        path = placer_path(model.info.path)
        if not path.is_file():
            return None
        placer = ModelSession(path, PlacerContract, options.providers, options.threads)
        made, reads = placer.info, model.info
        if (made.cube_mm, made.crop_size, made.upright, made.metadata.get("axis")) != \
                (reads.cube_mm, reads.crop_size, reads.upright, reads.metadata.get("axis")):
            raise ValueError(f"placer {path} was made for other crops than {reads.path.name} reads (cube, size or "
                             "turn): remove or rename it")
        return placer

    @classmethod
    def read_info(cls, info: ModelInfo, meta: dict[str, str], inputs: dict) -> None:
        info.cube_mm = float(meta.get("cube_mm", 250.0))
        info.crop_size = int(meta.get("crop_size") or inputs["depth"].shape[-1])
        info.joint_layout = meta.get("joint_layout", "hand21")
        info.upright = meta.get("upright", "false") == "true"
        if "heatmaps" in inputs:
            float(meta["heatmap_sigma"])  # an RGB-D file without its heatmaps' width cannot be run: KeyError/ValueError

    @classmethod
    def example_inputs(cls, info: ModelInfo) -> dict[str, np.ndarray]:
        s = info.crop_size
        feeds = {"depth": np.ones((1, 1, s, s), np.float32)}
        if "volume" in info.input_names:
            feeds["volume"] = np.zeros((1, 8, s, s), np.float32)
        if "heatmaps" in info.input_names:
            feeds["heatmaps"] = np.zeros((1, 21, s, s), np.float32)
        return feeds

    def place(self, detections: list[Detection], detector: str, frame: Frame) -> list[Detection]:
        if detector == "mediapipe":
            return [d for d in detections if self._place_on_depth(d, frame)]
        return detections

    @staticmethod
    def _place_on_depth(det: Detection, frame: Frame) -> bool:
        """RGB-D with the MediaPipe box: the hand's depth is the median reading under its landmarks."""
        if frame.depth is None:
            raise ValueError(f"frame {frame.index} has no depth image; cadstn needs depth")
        h, w = frame.depth.shape
        pts = np.rint(det.landmarks).astype(np.int64)
        ok = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
        readings = frame.depth[pts[ok, 1], pts[ok, 0]]
        readings = readings[readings > 0]
        if readings.size < 5:
            return False  # no depth under the hand: nothing to crop
        det.centre_uvz = np.array([det.centre[0], det.centre[1], float(np.median(readings))])
        return True

    def feeds(self, crop, landmarks: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """A depth crop as the model's inputs (the sliced volume too, for models that take it; an RGB-D model's
        heatmaps of the colour detector's ``landmarks`` (21, 2) px, zeros without them)."""
        from models import depth_crop

        info = self.model.info
        feeds = {"depth": crop.depth[None, None].astype(np.float32)}
        if "volume" in info.input_names:
            feeds["volume"] = depth_crop.sliced_volume(crop.depth)[None].astype(np.float32)
        if "heatmaps" in info.input_names:
            from models.cadstn.keypoints import crop_heatmaps

            feeds["heatmaps"] = crop_heatmaps(landmarks, crop, float(info.metadata["heatmap_sigma"]))
        return feeds

    def step(self, depth: np.ndarray, centre_mm: np.ndarray, intrinsics: CameraIntrinsics, state: dict,
             landmarks: np.ndarray | None = None, previous_px: np.ndarray | None = None,
             placed: bool = True) -> DepthStep:
        """One hand in one depth frame: the crop around ``centre_mm`` (camera mm), moved by the placer if there is
        one and the depth detector ``placed`` it (not MediaPipe's ``landmarks``, not the previous frame's joints),
        re-cut ``depth_recentre`` times around the joints found in it, then one model step from ``state``. An
        upright crop of a model trained on crops turned by the joints' axis (metadata ``axis = joints``) is
        turned by the colour detector's ``landmarks`` (21, 2) px when there are some, else by the previous
        frame's joints ``previous_px`` (21, 2) px, else by its own axis and then by the joints each look finds;
        older models' crops by their own axis, as they were trained."""
        from models import depth_crop

        info = self.model.info
        spent = [0.0]
        by_joints = info.metadata.get("axis") == "joints"  # models trained on crops turned by the joints' axis
        axis_from = (landmarks if landmarks is not None else previous_px) if by_joints else None
        angle = depth_crop.joint_axis_angle(axis_from) if axis_from is not None else None

        def predict(crop: depth_crop.DepthCrop) -> np.ndarray:  # a look only: the state stays
            t = time.perf_counter()
            joints = self.model.step(self.feeds(crop, landmarks), state)[0]["joints"][0]
            spent[0] += time.perf_counter() - t
            return joints

        first = None
        if self.placer is not None and placed and landmarks is None:
            first = depth_crop.crop_depth(depth, centre_mm, intrinsics, cube_mm=info.cube_mm, size=info.crop_size,
                                          upright=info.upright, angle=angle)
            t = time.perf_counter()
            found = self.placer.step({"depth": first.depth[None, None].astype(np.float32)}, {})[0]["joints"][0]
            spent[0] += time.perf_counter() - t
            hand = depth_crop.joints_to_camera_mm(found, first).mean(axis=0)
            if np.isfinite(hand).all() and hand[2] > 0 and np.linalg.norm(hand - first.centre_mm) > PLACER_MOVE_MM:
                centre_mm, first = hand, None  # cut again there
        crop = depth_crop.recentred_crop(depth, centre_mm, intrinsics, predict, self.options.depth_recentre,
                                         cube_mm=info.cube_mm, size=info.crop_size, upright=info.upright,
                                         angle=angle, follow_axis=by_joints and landmarks is None, first=first)
        feeds = self.feeds(crop, landmarks)
        t = time.perf_counter()
        outputs, new_state = self.model.step(feeds, state)
        spent[0] += time.perf_counter() - t
        joints = depth_crop.joints_to_camera_mm(outputs["joints"][0], crop)
        if landmarks is not None and "heatmaps" in info.input_names:  # an RGB-D model: hand21, the landmarks' order
            joints = pull_to_landmarks(joints, landmarks, intrinsics, self.options.landmark_pull)
        return DepthStep(crop, joints, new_state, spent[0])

    def estimate(self, track: Track, detection: Detection | None, context: FrameContext) -> HandResult | None:
        c0 = time.perf_counter()
        intrinsics = context.intrinsics
        centre_mm = pixel_to_camera_mm(detection.centre_uvz, intrinsics)
        previous = track.landmarks if track.age > 0 else None
        result = self.step(context.frame.depth, centre_mm, intrinsics, track.state or self.model.zero_state(),
                           landmarks=detection.landmarks, previous_px=previous)
        c1 = time.perf_counter()
        track.state = result.state
        joints_2d = project_mm(result.joints_mm, intrinsics)
        track.age += 1
        track.landmarks = joints_2d
        context.timings.inference_ms += result.inference_s * 1000.0
        context.timings.crop_ms += (c1 - c0 - result.inference_s) * 1000.0
        return HandResult(track_id=track.track_id, handedness=track.handedness, confidence=float(detection.score),
                          box=result.crop.box, joints_2d=joints_2d.astype(np.float32),
                          joints_3d=result.joints_mm.astype(np.float32))
