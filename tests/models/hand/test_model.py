"""The numpy hand model: shapes, keypoint order, agreement with smplx, mirroring, loading errors."""
from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from models.hand.file import read_hand_file, write_hand_file
from models.hand.model import (
    MANO_DIR_ENV,
    OPEN_MODEL_PATH,
    load_hand_model,
    mirror_points,
    mirror_pose,
    resolve_hand_model_path,
)
from models.hand.poses import finger_flexion_pose
from models.hand.quality import line_hits
from models.hand.skeleton import FINGER_JOINTS, FINGERS

TIP_KEYPOINTS = {"thumb": (1, 2, 3, 4), "index": (5, 6, 7, 8), "middle": (9, 10, 11, 12), "ring": (13, 14, 15, 16),
                 "pinky": (17, 18, 19, 20)}


@pytest.fixture(scope="module")
def model():
    return load_hand_model()


def _signed_volume(verts: np.ndarray, faces: np.ndarray) -> float:
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def test_shapes_and_keypoint_order(model):
    rng = np.random.default_rng(0)
    out = model.forward(rng.normal(size=(3, 10)), rng.normal(size=(3, 10)))
    assert out.vertices.shape == (3, model.num_vertices, 3)
    assert out.joints.shape == (3, 21, 3)
    assert model.faces.dtype == np.int32 and model.faces.max() == model.num_vertices - 1
    assert model.hands_components.shape == (45, 45) and model.hands_mean.shape == (45,)

    rest = model.forward(np.zeros(45)).joints[0]
    wrist = rest[0]
    # Fingers point along -x from the wrist; the thumb is on the +z side, the little finger on the -z side.
    assert np.all(rest[1:, 0] < wrist[0])
    assert rest[TIP_KEYPOINTS["thumb"], 2].min() > rest[TIP_KEYPOINTS["index"], 2].max() - 0.01
    assert rest[TIP_KEYPOINTS["pinky"], 2].max() < rest[TIP_KEYPOINTS["ring"], 2].min() + 0.005
    assert np.argmin(rest[[4, 8, 12, 16, 20], 0]) == 2  # the middle fingertip reaches furthest
    for finger, ids in TIP_KEYPOINTS.items():
        dist = np.linalg.norm(rest[list(ids)] - wrist, axis=1)
        assert np.all(np.diff(dist) > 0.005), finger  # base -> tip moves away from the wrist
    # The tips are the stored vertices.
    verts = model.forward(np.zeros(45)).vertices[0]
    np.testing.assert_allclose(rest[[4, 8, 12, 16, 20]], verts[model.fingertip_ids])


def test_pca_pose_matches_mano_convention(model):
    rng = np.random.default_rng(1)
    coeffs = rng.normal(size=(4, 10))
    theta = coeffs @ model.hands_components[:10] + model.hands_mean
    np.testing.assert_allclose(model.forward(coeffs).vertices, model.forward(theta).vertices, atol=1e-12)
    np.testing.assert_allclose(model.pca_from_pose(theta), coeffs, atol=1e-9)


def test_numpy_forward_equals_smplx(model, tmp_path):
    torch = pytest.importorskip("torch")
    smplx = pytest.importorskip("smplx")
    torch.set_num_threads(1)
    path = tmp_path / "MANO_RIGHT.pkl"
    shutil.copy(OPEN_MODEL_PATH, path)
    rng = np.random.default_rng(2)
    b = 5
    betas, glob, transl = rng.normal(size=(b, 10)), rng.normal(size=(b, 3)) * 0.8, rng.normal(size=(b, 3)) * 0.2
    t = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    order16 = [0, 13, 14, 15, 1, 2, 3, 4, 5, 6, 10, 11, 12, 7, 8, 9]
    kp16 = [0, 1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 17, 18, 19]

    pca = rng.normal(size=(b, 10))
    ref = smplx.MANO(model_path=str(path), use_pca=True, num_pca_comps=10, create_transl=False)
    out = ref(betas=t(betas), global_orient=t(glob), hand_pose=t(pca), transl=t(transl))
    ours = model.forward(pca, betas, glob, transl)
    np.testing.assert_allclose(ours.vertices, out.vertices.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(ours.joints[:, kp16], out.joints.detach().numpy()[:, order16], atol=1e-5)

    absolute = rng.normal(size=(b, 45)) * 0.5
    ref = smplx.MANO(model_path=str(path), use_pca=False, flat_hand_mean=True, create_transl=False)
    out = ref(betas=t(betas), global_orient=t(glob), hand_pose=t(absolute))
    np.testing.assert_allclose(model.forward(absolute, betas, glob).vertices, out.vertices.detach().numpy(),
                               atol=1e-5)


def test_joints_alone_equal_the_full_forward(model):
    """``vertices=False`` poses only the joints and fingertips (the live path without a mesh): the same joints."""
    rng = np.random.default_rng(3)
    pose, betas = rng.normal(0, 0.4, (4, 45)), rng.normal(0, 1.0, (4, 10))
    orient, transl = rng.normal(0, 1.0, (4, 3)), rng.normal(0, 0.2, (4, 3))
    full = model.forward(pose, betas, orient, transl)
    joints_only = model.forward(pose, betas, orient, transl, vertices=False)
    assert joints_only.vertices is None
    np.testing.assert_allclose(joints_only.joints, full.joints, atol=1e-12)


def test_fingertips_are_extreme_vertices_of_their_finger(model):
    verts = model.v_template
    rest = model.forward(np.zeros(45)).joints[0]
    for i, finger in enumerate(FINGERS):
        distal = FINGER_JOINTS[finger][2]
        own = model.weights[:, distal] > 0.5  # the finger's last segment, by skinning
        dip = rest[TIP_KEYPOINTS[finger][2]]
        direction = rest[TIP_KEYPOINTS[finger][3]] - dip
        reach = (verts - dip) @ (direction / np.linalg.norm(direction))
        assert own[model.fingertip_ids[i]], finger
        assert reach[model.fingertip_ids[i]] >= reach[own].max() - 1e-12, finger


@pytest.mark.parametrize("finger", ["index", "ring", "thumb"])
def test_bending_one_finger_moves_only_that_finger(model, finger):
    flat = model.forward(np.zeros(45)).vertices[0]
    bent = model.forward(finger_flexion_pose(finger, 80.0)).vertices[0]
    moved = np.linalg.norm(bent - flat, axis=1)
    rest = model.forward(np.zeros(45)).joints[0]
    # Geometric ownership (independent of the weights): the nearest bone chain among the five fingers.
    def chain_distance(f: str) -> np.ndarray:
        pts = rest[list(TIP_KEYPOINTS[f])]
        if f != "thumb":
            pts = pts[1:]  # from the PIP on: clearly inside the finger, away from the palm
        d = []
        for a, b in zip(pts[:-1], pts[1:]):
            s = np.clip(((flat - a) @ (b - a)) / ((b - a) @ (b - a)), 0, 1)
            d.append(np.linalg.norm(flat - (a + s[:, None] * (b - a)), axis=1))
        return np.min(d, axis=0)
    distances = {f: chain_distance(f) for f in FINGERS}
    for other in FINGERS:
        if other == finger:
            continue
        inside_other = distances[other] < 0.012
        inside_other &= distances[other] < distances[finger] - 0.01
        assert inside_other.sum() > 20
        assert moved[inside_other].max() < 1e-9, other
    tip = model.fingertip_ids[FINGERS.index(finger)]
    assert moved[tip] > 0.02
    beyond_wrist = flat[:, 0] > rest[0, 0]  # the forearm side of the wrist joint never follows a finger
    assert beyond_wrist.sum() > 20
    assert moved[beyond_wrist].max() < 1e-9


@pytest.mark.parametrize("finger", ["index", "middle", "pinky"])
def test_flexion_keeps_joint_cross_section(model, finger):
    """90° at the PIP: the finger's thickness through the joint (along the bend's bisector) does not collapse."""
    j1, j2, j3 = FINGER_JOINTS[finger]
    k = TIP_KEYPOINTS[finger]

    def thickness(pose: np.ndarray) -> float:
        out = model.forward(pose)
        verts, kp = out.vertices[0], out.joints[0]
        joint, prox, dist = kp[k[1]], kp[k[0]], kp[k[2]]
        d1 = (joint - prox) / np.linalg.norm(joint - prox)
        d2 = (dist - joint) / np.linalg.norm(dist - joint)
        inner = d2 - d1  # points into the bend (palmar side); straight finger: use the palm normal
        inner = inner / np.linalg.norm(inner) if np.linalg.norm(inner) > 1e-6 else np.array([0.0, -1.0, 0.0])
        hits = line_hits(verts, model.faces, joint, inner)
        hits = hits[np.abs(hits) < 0.015]  # this finger only, not the palm or a neighbour further along the line
        assert (hits < 0).any() and (hits > 0).any()
        return float(hits.max() - hits.min())

    straight = thickness(np.zeros(45))
    bent_pose = np.zeros(45)
    bent_pose[(j2 - 1) * 3 + 2] = np.pi / 2  # flexion of the long fingers is about +z in MANO's frame
    bent = thickness(bent_pose)
    assert 0.008 < straight < 0.025
    # Plain linear blend skinning at a 50/50 joint shrinks it towards cos(45°) ≈ 0.71; the pose correctives keep it.
    assert bent > 0.8 * straight, (bent, straight)


def test_mirroring(model):
    left = load_hand_model(side="left")
    twice = model.mirrored().mirrored()
    for name in ("v_template", "faces", "shapedirs", "posedirs", "hands_components", "hands_mean", "weights"):
        np.testing.assert_array_equal(getattr(twice, name), getattr(model, name))
    rng = np.random.default_rng(3)
    pose, betas, glob, transl = (rng.normal(size=(2, 45)) * 0.4, rng.normal(size=(2, 10)),
                                 rng.normal(size=(2, 3)), rng.normal(size=(2, 3)) * 0.1)
    right_out = model.forward(pose, betas, glob, transl)
    left_out = left.forward(mirror_pose(pose), betas, mirror_pose(glob), mirror_points(transl))
    np.testing.assert_allclose(left_out.vertices, mirror_points(right_out.vertices), atol=1e-12)
    np.testing.assert_allclose(left_out.joints, mirror_points(right_out.joints), atol=1e-12)
    # Both hands keep outward-facing triangles, and the left thumb is on the -z... mirrored x side.
    assert _signed_volume(model.v_template, model.faces) > 0
    assert _signed_volume(left.v_template, left.faces) > 0
    assert left.v_template[:, 0].mean() == pytest.approx(-model.v_template[:, 0].mean())


def _one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_loading_errors_are_clear(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError) as exc:
        load_hand_model(tmp_path / "nope.pkl")
    assert "nope.pkl" in _one_line(exc)

    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"\x00not a pickle at all")
    with pytest.raises(ValueError) as exc:
        load_hand_model(garbage)
    assert "garbage.pkl" in _one_line(exc)

    arrays = read_hand_file(OPEN_MODEL_PATH)
    del arrays["weights"]
    broken = write_hand_file(tmp_path / "broken.pkl", arrays)
    with pytest.raises(ValueError) as exc:
        load_hand_model(broken)
    assert "weights" in _one_line(exc) and "broken.pkl" in str(exc.value)

    arrays = read_hand_file(OPEN_MODEL_PATH)
    arrays["shapedirs"] = arrays["shapedirs"][:-1]
    bad_shape = write_hand_file(tmp_path / "bad_shape.pkl", arrays)
    with pytest.raises(ValueError) as exc:
        load_hand_model(bad_shape)
    assert "shapedirs" in _one_line(exc)

    # A pickle that would run code is refused, and the code does not run.
    marker = tmp_path / "ran"
    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"v_template": Evil()}, protocol=4))
    with pytest.raises(ValueError) as exc:
        load_hand_model(evil)
    assert "evil.pkl" in _one_line(exc) and not marker.exists()

    monkeypatch.setenv(MANO_DIR_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError) as exc:
        load_hand_model()
    assert "MANO_RIGHT.pkl" in _one_line(exc)
    monkeypatch.setenv(MANO_DIR_ENV, str(tmp_path / "missing_dir"))
    with pytest.raises(FileNotFoundError) as exc:
        load_hand_model()
    assert "missing_dir" in _one_line(exc)
    with pytest.raises(ValueError):
        load_hand_model(side="middle")


def test_mano_dir_selects_the_licensed_files(tmp_path, monkeypatch, model):
    shutil.copy(OPEN_MODEL_PATH, tmp_path / "MANO_RIGHT.pkl")
    left = model.mirrored()
    write_hand_file(tmp_path / "MANO_LEFT.pkl", {
        "v_template": left.v_template, "f": left.faces, "J_regressor": left.J_regressor,
        "kintree_table": np.stack([left.parents, np.arange(16)]), "weights": left.weights,
        "posedirs": left.posedirs, "shapedirs": left.shapedirs, "hands_components": left.hands_components,
        "hands_mean": left.hands_mean,
    })
    monkeypatch.setenv(MANO_DIR_ENV, str(tmp_path))
    assert resolve_hand_model_path("left") == tmp_path / "MANO_LEFT.pkl"
    right = load_hand_model()
    assert right.name == "MANO (right)" and right.path == tmp_path / "MANO_RIGHT.pkl"
    loaded_left = load_hand_model(side="left")
    assert loaded_left.path == tmp_path / "MANO_LEFT.pkl"
    # A file without `fingertip_ids` (the licensed MANO) gets MANO's tip vertices; ours stores its own.
    assert loaded_left.fingertip_ids.tolist() == [744, 320, 443, 554, 671]
    assert right.fingertip_ids.tolist() == model.fingertip_ids.tolist()
