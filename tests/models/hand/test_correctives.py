"""Whole-hand pose correctives: targets lie on the posed implicit hand, fingers stop at the palm, and the fit
moves the skinned mesh towards its targets."""
from __future__ import annotations

import numpy as np
import pytest

from models.hand.contact import ContactFinder
from models.hand.correctives import CorrectiveOptions, TargetBuilder, fit_correctives, push_apart, ring_carried, unfold
from models.hand.model import OPEN_MODEL_PATH, load_hand_model, rodrigues
from models.hand.poses import named_pose
from models.hand.quality import flipped
from models.hand.rig import pose_correctives
from models.hand.surface import NUM_PARTS, PRIMITIVE_PART, part_transforms, posed_part_distances
from models.pose_prior import angles_to_pose

OPTIONS = CorrectiveOptions(iterations=3)


@pytest.fixture(scope="module")
def builder():
    m = load_hand_model(OPEN_MODEL_PATH)
    return m, TargetBuilder(m.v_template, m.faces, m.weights, m.J_regressor, m.posedirs, OPTIONS)


def test_flat_target_is_the_rest_mesh_but_for_the_gaps_between_fingers(builder):
    """At rest the surface between two fingers is blended with the neighbour; a target leaves the neighbour out
    (fingers meet, they do not fuse), so there alone it sits up to a few millimetres lower."""
    m, tb = builder
    target, _, _ = tb.target(np.zeros(45))
    moved = np.linalg.norm(target - m.v_template, axis=1)
    assert np.median(moved) < 1e-5
    assert moved.max() < 0.003
    assert np.mean(moved > 5e-4) < 0.1


def test_fist_target_keeps_fingers_out_of_the_palm(builder):
    m, tb = builder
    pose = named_pose("fist", keep_tips_out=False)  # the little finger closed 14 mm into the palm's implicit
    target, _, _ = tb.target(pose)
    world_r, skin_t, _, _ = tb.skinning(pose)
    rots, trans = part_transforms(world_r, skin_t)
    dist = posed_part_distances(target, rots, trans)
    palm = np.min([d for i, d in enumerate(dist) if PRIMITIVE_PART[i] == 0], axis=0)
    fingers_away = ~tb.is_palm & ~tb.near[:, 0]  # finger vertices that do not join the palm at rest
    assert fingers_away.sum() > 200
    # plain skinning sinks fingertips centimetres into the palm; the target rests on it
    skinned = m.forward(pose).vertices[0]
    sunk = np.min([d for i, d in enumerate(posed_part_distances(skinned, rots, trans)) if PRIMITIVE_PART[i] == 0],
                  axis=0)
    assert sunk[fingers_away].min() < -0.005
    assert palm[fingers_away].min() > -0.001
    assert len(rots) == NUM_PARTS


def test_fit_moves_the_mesh_towards_its_targets(builder):
    m, tb = builder
    poses = np.stack([named_pose("fist"), named_pose("pinch"), named_pose("point"), named_pose("spread")])
    single = pose_correctives(m.v_template, m.weights, m.J_regressor)  # one joint at a time
    fitted = fit_correctives(m.v_template, m.faces, m.weights, m.J_regressor, single, m.fingertip_ids, poses,
                             OPTIONS)
    assert fitted.shape == single.shape
    np.testing.assert_array_equal(fitted[m.fingertip_ids], single[m.fingertip_ids])  # keypoints stay put
    before, after = [], []
    for pose in poses:
        target, mat, t = tb.target(pose)
        for basis, out in ((single, before), (fitted, after)):
            rest = m.v_template + basis @ _feature(pose)
            out.append(np.linalg.norm(np.einsum("vij,vj->vi", mat, rest) + t - target, axis=1).mean())
    assert np.mean(after) < 0.7 * np.mean(before)


def _feature(pose: np.ndarray) -> np.ndarray:
    return (rodrigues(pose.reshape(15, 3)) - np.eye(3)).reshape(-1)


def test_contact_round_pushes_sunk_vertices_out_and_keeps_the_tips(builder):
    """One contact round on a fist: the targets of vertices the mesh sinks into another part come out (the palm
    dents under a fingertip), and the fingertips, keypoints, stay where they are."""
    m, tb = builder
    pose = named_pose("fist", keep_tips_out=False)  # fingers and thumb closed through each other: much to push
    single = pose_correctives(m.v_template, m.weights, m.J_regressor)
    offsets = single @ _feature(pose)  # targets where the fitted mesh is
    finder = ContactFinder(m.v_template, m.faces, m.weights)
    _, _, mat, t = tb.skinning(pose)

    def sunk() -> float:
        return float(finder.find(np.einsum("vij,vj->vi", mat, m.v_template + offsets) + t).depth.sum())

    before = sunk()
    tips = offsets[m.fingertip_ids].copy()
    uses = push_apart(tb, finder, single, pose, offsets, m.fingertip_ids, OPTIONS)
    assert before > 0.01 and sunk() < 0.5 * before
    np.testing.assert_array_equal(offsets[m.fingertip_ids], tips)
    assert uses.shape == (len(m.v_template), 5)


def test_ring_carried_follows_a_rigid_motion_of_the_ring():
    rng = np.random.default_rng(0)
    ring = rng.normal(size=(7, 3)) * 0.01
    vertex = ring.mean(axis=0) + np.array([0.0, 0.0, -0.006])  # a web vertex: below its ring
    turn = rodrigues(np.array([[0.3, -0.8, 0.5]]))[0]
    shift = np.array([0.02, -0.01, 0.03])
    np.testing.assert_allclose(ring_carried(vertex, ring, ring @ turn.T + shift), turn @ vertex + shift, atol=1e-12)


def test_contact_round_brings_a_web_vertex_out_from_under_a_finger(builder):
    """The index finger turned 20° towards the middle finger: plain skinning leaves the web between them behind, and
    the index's side folds over it. Web vertices are shared between parts, so the push out along the nearest
    triangle leaves them alone; the round moves them where their ring of neighbours carries them, out of the fold."""
    m, tb = builder
    flex, abd = np.zeros((1, 16)), np.zeros((1, 16))
    abd[0, 1] = np.deg2rad(-20.0)  # index MCP, towards the middle finger
    pose = angles_to_pose(flex, abd)[0]
    single = pose_correctives(m.v_template, m.weights, m.J_regressor)
    offsets = single @ _feature(pose)
    finder = ContactFinder(m.v_template, m.faces, m.weights)
    _, _, mat, t = tb.skinning(pose)

    def sunk_web() -> set[int]:
        found = finder.find(np.einsum("vij,vj->vi", mat, m.v_template + offsets) + t)
        return {int(v) for v, d in zip(found.vertex, found.depth) if not tb.clear[v] and d > 0.002}

    before = sunk_web()
    assert before  # the index–middle web, about 6 mm under the index finger's side
    push_apart(tb, finder, single, pose, offsets, m.fingertip_ids, OPTIONS)
    assert not sunk_web() & before


def test_unfold_moves_the_corners_of_turned_over_triangles_and_turns_fewer_over(builder):
    """Plain skinning of a fist turns triangles over at the knuckles and the thumb's base; moved where their rings
    carry them, the corners of those triangles (and nothing else) make a target that turns fewer over."""
    m, tb = builder
    pose = named_pose("fist", keep_tips_out=False)
    plain = np.zeros_like(m.posedirs)
    offsets = np.zeros_like(m.v_template)
    world_r, _, mat, t = tb.skinning(pose)

    def turned() -> np.ndarray:
        posed = np.einsum("vij,vj->vi", mat, m.v_template + offsets) + t
        return flipped(posed, m.faces, tb.rest_normals, world_r[tb.face_bones])

    before = turned()
    unfold(tb, plain, pose, offsets, m.fingertip_ids)
    moved = np.flatnonzero(np.abs(offsets).sum(axis=1) > 0)
    assert set(moved) <= set(m.faces[before].ravel()) - set(m.fingertip_ids.tolist())
    assert before.sum() >= 10 and turned().sum() < 0.8 * before.sum()
