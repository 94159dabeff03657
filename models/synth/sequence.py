"""One synthetic hand-motion sequence in memory: frames plus per-frame ground truth, RGB or depth.

This is the single generator behind `handstream gen-data`, the training `SynthDataset`, `bench gen` and the
engine's demo source. Determinism: sequence `index` of a generator seeded `seed` draws everything from
`np.random.default_rng([seed, index])`, so the same (seed, index) gives the same bytes whatever worker or
order produces it. Augmentation noise draws from `[seed, index, 1]` and the depth sensor profile and scene
(sleeve, body, table) from `[seed, index, 4]`: switching either leaves the motion and colour frames unchanged.

Per sequence (SeqHAND §3.2): a pose-flow through the bank, β ~ U[−2, 2]¹⁰ and one skin template fixed for the
sequence, camera start and end sampled independently and approached by the same α/n rule as the pose.
RGB uses SeqHAND-Net's weak-perspective camera (crop coordinates); depth a pinhole camera in mm.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from calibration.intrinsics import CameraIntrinsics
from calibration.projection import project_mm
from models.synth.backgrounds import Backgrounds
from models.synth.depth_scene import draw_scene, scene_depth, sleeve_depth
from models.synth.depth_sensor import choose_profile, sensor_depth
from models.synth.pose_bank import PoseBank, procedural_bank
from models.synth.pose_flow import FlowOptions, PoseFlowPlanner, approach, rotation_approach
from models.synth.raster import front_sign
from models.synth.render_depth import (
    D435_INTRINSICS,
    DepthOptions,
    background_depth,
    crop_intrinsics,
    forearm_mesh,
    render_depth_frames,
)
from models.synth.render_rgb import (
    Augmenter,
    RgbOptions,
    VertexNormals,
    composite,
    crop_to_pixels,
    random_light,
    render_rgb_frames,
    shade_vertices,
)
from models.synth.skin import skin_template, skin_tones
from models.synth.skinning import FastSkinning

KINDS = ("rgb", "depth")
# MANO frame (fingers along -x, back of the hand +y) -> camera (x right, y down, z away): fingers up, back seen.
FACING_CAMERA = Rotation.from_matrix([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
NUM_SKIN_TONES = 24
DEFAULT_SCALE = (7.0, 11.0)  # RGB: weak-perspective scale range, crop units per metre
ANY_TILT_DEG = 180.0  # max_tilt_deg that allows every hand orientation
DEFAULT_BANK_SIZE = 20_000  # procedural bank when none is given (100k via `gen-data`; this keeps start-up ~2 s)


@dataclass(frozen=True)
class SequenceOptions:
    kind: str = "rgb"
    flow: FlowOptions = field(default_factory=FlowOptions)
    rgb: RgbOptions = field(default_factory=RgbOptions)
    depth: DepthOptions = field(default_factory=DepthOptions)
    intrinsics: CameraIntrinsics = D435_INTRINSICS  # depth camera (full frames; crops derive from it)
    pca_pose: bool = False  # render θ projected on the 10 PCA components (what SeqHAND-Net can express)
    scale: tuple[float, float] = DEFAULT_SCALE  # weak-perspective s (crop units per metre)
    translation: float = 0.25  # |t| bound, crop units
    augment: bool = True  # RGB: blur/noise/jitter; depth: sensor noise
    # Hand orientation: 180 = uniformly random rotations (the default, like SeqHAND); smaller values tilt the
    # back of the hand, fingers up, towards the camera by at most this angle about a random axis.
    max_tilt_deg: float = ANY_TILT_DEG
    colour: bool = False  # depth kind: also render an aligned RGB image per frame (RGB-D, e.g. for a demo)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")

    @property
    def frames(self) -> int:
        return self.flow.frames

    @property
    def image_shape(self) -> tuple[int, int]:
        if self.kind == "rgb":
            return self.rgb.size, self.rgb.size
        if self.depth.full_frame:
            return self.intrinsics.height, self.intrinsics.width
        return self.depth.size, self.depth.size


@dataclass
class SequenceTruth:
    """Ground truth of T frames. 3-D values are camera-space mm: RGB's camera is the weak-perspective one
    (X rotated by R, origin at the hand model's origin, y down, z away), depth's the pinhole camera."""

    joints_2d: np.ndarray  # (T, 21, 2) px in the stored image
    joints_3d: np.ndarray  # (T, 21, 3) mm
    vertices: np.ndarray  # (T, V, 3) mm
    mask: np.ndarray  # (T, H, W) uint8, 1 on the hand (not the forearm)
    theta: np.ndarray  # (T, 45) absolute axis-angle as rendered
    theta_pca: np.ndarray  # (T, 10) least-squares PCA coefficients of theta
    betas: np.ndarray  # (T, 10), constant over the sequence
    rotation: np.ndarray  # (T, 3) axis-angle R of the hand
    bank_index: np.ndarray  # (T,) pose-bank rows visited by the flow
    camera: np.ndarray | None = None  # RGB: (T, 3) weak perspective [s, tx, ty] in crop units
    intrinsics: CameraIntrinsics | None = None  # depth: the full-frame camera
    crop_centre_mm: np.ndarray | None = None  # depth: (T, 3) DeepPrior cube centre (joints' centroid or off-hand)
    crop_box: np.ndarray | None = None  # depth: (T, 4) x0, y0, x1, y1 of the crop in full-frame px
    cube_mm: float | None = None

    @property
    def params(self) -> np.ndarray:
        """(T, 26) SeqHAND-Net targets [θ PCA 10, β 10, s, tx, ty, rx, ry, rz] (RGB only)."""
        if self.camera is None:
            raise ValueError("params exist for RGB sequences only")
        return np.concatenate([self.theta_pca, self.betas, self.camera, self.rotation], axis=1).astype(np.float32)


@dataclass
class SynthSequence:
    index: int
    kind: str
    rgb: np.ndarray | None  # (T, S, S, 3) uint8
    depth: np.ndarray | None  # (T, H, W) uint16 mm, 0 = missing
    truth: SequenceTruth

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat dict of arrays (fixed keys and order): the shard record and the dataset sample."""
        t = self.truth
        out: dict[str, np.ndarray] = {}
        if self.rgb is not None:
            out["rgb"] = self.rgb
        if self.depth is not None:
            out["depth"] = self.depth
        out.update(mask=t.mask, joints_2d=t.joints_2d, joints_3d=t.joints_3d, vertices=t.vertices, theta=t.theta,
                   theta_pca=t.theta_pca, betas=t.betas, rotation=t.rotation, bank_index=t.bank_index)
        if t.camera is not None:
            out["camera"] = t.camera
            out["params"] = t.params
        if t.intrinsics is not None:
            k = t.intrinsics
            out["intrinsics"] = np.array([k.fx, k.fy, k.cx, k.cy, k.width, k.height], dtype=np.float64)
            out["crop_centre_mm"] = t.crop_centre_mm
            out["crop_box"] = t.crop_box
            out["cube_mm"] = np.array(t.cube_mm, dtype=np.float64)
        return out


class SequenceGenerator:
    """Builds sequences from a pose bank; create once per process, then call `sequence(index)`."""

    def __init__(self, options: SequenceOptions = SequenceOptions(), *, seed: int = 0, bank: PoseBank | None = None,
                 backgrounds: Backgrounds | None = None, model=None) -> None:
        from models.hand.model import load_hand_model

        self.options = options
        self.seed = int(seed)
        self.model = load_hand_model() if model is None else model
        self.bank = procedural_bank(DEFAULT_BANK_SIZE, seed=0, model=self.model) if bank is None else bank
        self.planner = PoseFlowPlanner(self.bank, options.flow)
        self.skinning = FastSkinning(self.model)
        wants_rgb = options.kind == "rgb" or options.colour
        self.backgrounds = backgrounds if backgrounds is not None or not wants_rgb else Backgrounds(seed=self.seed)
        self.faces = self.model.faces.astype(np.int64)
        self.normals = VertexNormals(self.faces, self.model.num_vertices, self.model.v_template)
        self.tones = skin_tones(NUM_SKIN_TONES)
        self.augmenter = Augmenter(options.rgb, self.seed)
        arm_v, arm_f = forearm_mesh(length_m=options.depth.forearm_mm / 1000.0)
        self._arm_vertices = arm_v
        self._all_faces = np.concatenate([self.faces, arm_f + self.model.num_vertices])
        # A closed hand mesh lets back faces be culled (half the raster work); the forearm is wound alike.
        self.front = front_sign(self.model.v_template, self.faces)
        if self.front and front_sign(arm_v, arm_f) != self.front:
            self._all_faces[len(self.faces):] = self._all_faces[len(self.faces):, ::-1]

    @property
    def hand_model_name(self) -> str:
        path = getattr(self.model, "path", None)
        return path.name if path is not None else str(self.model.name)

    def sequence(self, index: int) -> SynthSequence:
        rng = np.random.default_rng([self.seed, int(index)])
        o = self.options
        idx = self.planner.flow(rng)
        theta = self.bank.theta[idx].astype(np.float64)
        theta_pca = self.model.pca_from_pose(theta, 10)
        if o.pca_pose:
            theta = self.model.pose_from_pca(theta_pca)
        betas = np.repeat(rng.uniform(-2.0, 2.0, size=(1, 10)), len(idx), axis=0)
        hand = self.skinning(theta, betas)
        rot_start, rot_end = self._orientation(rng), self._orientation(rng)
        rotvecs = rotation_approach(rot_start, rot_end, o.frames, o.flow.alpha, o.flow.steps)
        # augmentation draws from its own stream, so switching it off leaves the content unchanged
        noise_rng = np.random.default_rng([self.seed, int(index), 1])
        if o.kind == "rgb":
            return self._rgb(index, rng, noise_rng, idx, theta, theta_pca, betas, hand, rotvecs)
        scene_rng = np.random.default_rng([self.seed, int(index), 4])  # new draws only here: see the docstring
        return self._depth(index, rng, noise_rng, scene_rng, idx, theta, theta_pca, betas, hand, rotvecs)

    def _orientation(self, rng: np.random.Generator) -> Rotation:
        tilt = self.options.max_tilt_deg
        if tilt >= ANY_TILT_DEG:
            return Rotation.random(random_state=rng)
        axis = rng.normal(size=3)
        angle = np.radians(rng.uniform(0.0, tilt))
        return Rotation.from_rotvec(axis / np.linalg.norm(axis) * angle) * FACING_CAMERA

    def _albedo(self, rng: np.random.Generator) -> np.ndarray:
        tone = self.tones[int(rng.integers(len(self.tones)))]
        return skin_template(self.model.v_template, tone, rng)

    def _rgb(self, index, rng, noise_rng, idx, theta, theta_pca, betas, hand, rotvecs) -> SynthSequence:
        o = self.options
        size = o.rgb.size
        albedo = self._albedo(rng)
        light = random_light(rng, o.rgb)
        s = approach(rng.uniform(*o.scale), rng.uniform(*o.scale), o.frames, o.flow.alpha, o.flow.steps)
        t = approach(rng.uniform(-o.translation, o.translation, 2), rng.uniform(-o.translation, o.translation, 2),
                     o.frames, o.flow.alpha, o.flow.steps)
        backgrounds = self.backgrounds.patches(rng, o.frames, size)
        mats = Rotation.from_rotvec(rotvecs).as_matrix()
        verts = hand.vertices @ mats.transpose(0, 2, 1)
        joints = hand.joints @ mats.transpose(0, 2, 1)
        colours = shade_vertices(albedo, self.normals(verts), light)
        rendered, raster = render_rgb_frames(verts, self.faces, colours, s, t, backgrounds, self.front)
        images = np.stack([self.augmenter(img, noise_rng) for img in rendered]) if o.augment else rendered
        masks = raster.mask.astype(np.uint8)
        joints_2d = crop_to_pixels(s[:, None, None] * joints[..., :2] + t[:, None, :], size)
        truth = SequenceTruth(
            joints_2d=joints_2d.astype(np.float32), joints_3d=(joints * 1000).astype(np.float32),
            vertices=(verts * 1000).astype(np.float32), mask=masks, theta=theta.astype(np.float32),
            theta_pca=theta_pca.astype(np.float32), betas=betas.astype(np.float32),
            rotation=rotvecs.astype(np.float32), bank_index=idx,
            camera=np.concatenate([s[:, None], t], axis=1).astype(np.float32))
        return SynthSequence(index, "rgb", images, None, truth)

    def _depth(self, index, rng, noise_rng, scene_rng, idx, theta, theta_pca, betas, hand, rotvecs) -> SynthSequence:
        o = self.options
        d = o.depth
        k = o.intrinsics

        def place() -> np.ndarray:  # a hand centre whose image lies in the middle 60 % of the frame
            z = rng.uniform(*d.distance_mm)
            u, v = rng.uniform(0.2, 0.8) * k.width, rng.uniform(0.2, 0.8) * k.height
            return np.array([(u - k.cx) * z / k.fx, (v - k.cy) * z / k.fy, z])

        centres = approach(place(), place(), o.frames, o.flow.alpha, o.flow.steps)
        return self._depth_frames(index, rng, noise_rng, scene_rng, idx, theta, theta_pca, betas, hand, rotvecs,
                                  centres)

    def render_motion(self, theta: np.ndarray, betas: np.ndarray, rotvecs: np.ndarray, centres_mm: np.ndarray,
                      index: int = 0) -> SynthSequence:
        """A depth sequence (with `colour`, RGB-D) of a scripted motion rather than a pose-flow: θ (T, 45)
        axis-angle, β (T, 10), the hand's rotation (T, 3) axis-angle and its joints' centroid (T, 3) in
        camera mm, rendered with these options (e.g. the built-in demo, whose motion must loop smoothly)."""
        if self.options.kind != "depth":
            raise ValueError("render_motion renders depth sequences (kind='depth')")
        theta, betas = np.asarray(theta, np.float64), np.asarray(betas, np.float64)
        rng = np.random.default_rng([self.seed, int(index), 2])
        noise_rng = np.random.default_rng([self.seed, int(index), 3])
        scene_rng = np.random.default_rng([self.seed, int(index), 5])
        hand = self.skinning(theta, betas)
        idx = np.full(len(theta), -1, np.int64)  # no bank poses: the motion was given
        return self._depth_frames(index, rng, noise_rng, scene_rng, idx, theta, self.model.pca_from_pose(theta, 10),
                                  betas, hand, np.asarray(rotvecs, np.float64), np.asarray(centres_mm, np.float64))

    def _depth_frames(self, index, rng, noise_rng, scene_rng, idx, theta, theta_pca, betas, hand, rotvecs, centres
                      ) -> SynthSequence:
        o = self.options
        d = o.depth
        k = o.intrinsics
        frames = len(theta)
        mats = Rotation.from_rotvec(rotvecs).as_matrix()
        nv = self.model.num_vertices
        shape = o.image_shape
        origin = hand.joints.mean(1, keepdims=True)  # (T, 1, 3): the joints' centroid goes to the centre
        arm = self._arm_vertices[None] + hand.joints[:, :1]
        local = np.concatenate([hand.vertices, arm], axis=1) - origin
        points = local @ mats.transpose(0, 2, 1) * 1000.0 + centres[:, None]
        joints_mm = (hand.joints - origin) @ mats.transpose(0, 2, 1) * 1000.0 + centres[:, None]
        if d.full_frame:
            crop_centres = centres
            cameras = [k] * frames
            boxes = np.tile([0.0, 0.0, float(k.width), float(k.height)], (frames, 1))
        else:
            crop_centres = self._crop_centres(index, centres, joints_mm[:, 0], mats)
            crops = [crop_intrinsics(k, c, d.cube_mm, d.size) for c in crop_centres]
            cameras, boxes = [c for c, _ in crops], np.array([b for _, b in crops])
        raster = render_depth_frames(points, self._all_faces, cameras, self.front)
        hand_px = raster.pixels[raster.face < len(self.faces)]
        masks = np.zeros(frames * shape[0] * shape[1], np.uint8)
        masks[hand_px] = 1
        masks = masks.reshape(frames, *shape)
        image = raster.depth_image()
        scene = draw_scene(d.scene, centres[0], scene_rng)
        sensor = choose_profile(d.sensor, scene_rng)
        if scene.sleeve is not None:
            forearm = self._all_faces[len(self.faces):] - self.model.num_vertices  # its faces, wound alike
            sleeve = sleeve_depth(scene.sleeve, d.forearm_mm, forearm, hand.joints[:, :1] - origin, mats, centres,
                                  cameras, self.front)
            over = (sleeve > 0) & ((image == 0) | (sleeve < image))
            image = np.where(over, sleeve, image)
            masks[over] = 0
        seen = image > 0
        depth = np.empty((frames, *shape), np.uint16)
        joints_2d = np.empty((frames, 21, 2))
        static = background_depth(k, float(points[..., 2].max()), rng, d.background) \
            if d.static_background and d.full_frame else None
        for f, cam in enumerate(cameras):
            back = static if static is not None else background_depth(cam, float(points[f, :, 2].max()), rng,
                                                                     d.background)
            around = scene_depth(scene, cam)
            if around is not None:
                back = np.where((around > 0) & ((back == 0) | (around < back)), around, back)
            frame = np.where(seen[f], image[f], back)
            if o.augment and d.noise:
                depth[f] = sensor_depth(frame, cam.fx, noise_rng, sensor, pixel_scale=k.fx / cam.fx)
            else:
                depth[f] = np.clip(np.round(frame), 0, 65535).astype(np.uint16)
            joints_2d[f] = project_mm(joints_mm[f], cam)
        verts_mm = points[:, :nv]
        rgb = self._colour_frames(rng, raster, points, shape) if o.colour else None
        truth = SequenceTruth(
            joints_2d=joints_2d.astype(np.float32), joints_3d=joints_mm.astype(np.float32),
            vertices=verts_mm.astype(np.float32), mask=masks, theta=theta.astype(np.float32),
            theta_pca=theta_pca.astype(np.float32), betas=betas.astype(np.float32),
            rotation=rotvecs.astype(np.float32), bank_index=idx, intrinsics=k,
            crop_centre_mm=crop_centres.astype(np.float32), crop_box=boxes.astype(np.float32), cube_mm=d.cube_mm)
        return SynthSequence(index, "depth", rgb, depth, truth)

    def _crop_centres(self, index: int, centres: np.ndarray, wrists: np.ndarray, mats: np.ndarray) -> np.ndarray:
        """(T, 3) mm the crops are rendered around: the joints' centroid `centres`, or for a share of frames
        (`DepthOptions.off_hand_share`) a point on the forearm's axis, which leaves the `wrists` along the hand's
        +x (`mats`: its rotations). Drawn from a stream of its own, so sequences without it render as before."""
        d = self.options.depth
        if d.off_hand_share <= 0:
            return centres
        rng = np.random.default_rng([self.seed, int(index), 7])
        moved = rng.random(len(centres)) < d.off_hand_share
        past_wrist = rng.uniform(*d.off_hand_mm, len(centres))
        return np.where(moved[:, None], wrists + past_wrist[:, None] * mats[:, :, 0], centres)

    def _colour_frames(self, rng: np.random.Generator, raster, points: np.ndarray, shape: tuple) -> np.ndarray:
        """Shaded hand and forearm (one skin template) over moving backgrounds, aligned with the depth frames."""
        nv = self.model.num_vertices
        albedo = self._albedo(rng)
        albedo = np.concatenate([albedo, np.repeat(albedo.mean(0, keepdims=True), len(points[0]) - nv, 0)])
        normals = np.concatenate([self.normals(points[:, :nv]), self._arm_normals(points)], axis=1)
        colours = shade_vertices(albedo, normals, random_light(rng, self.options.rgb))
        backgrounds = self.backgrounds.patches(rng, len(points), *shape)
        return composite(raster, self._all_faces, colours, backgrounds)

    def _arm_normals(self, points: np.ndarray) -> np.ndarray:
        """Forearm vertex normals: away from the forearm's axis (its wrist-cap centre to its far-cap centre)."""
        arm = points[:, self.model.num_vertices:]
        start, end = arm[:, -1:], arm[:, -2:-1]
        axis = (end - start) / np.linalg.norm(end - start, axis=-1, keepdims=True)
        rel = arm - start
        radial = rel - (rel * axis).sum(-1, keepdims=True) * axis
        return radial / np.maximum(np.linalg.norm(radial, axis=-1, keepdims=True), 1e-9)
