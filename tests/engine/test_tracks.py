"""TrackSet: identities, misses, retirement and state resets on jumps."""
from __future__ import annotations

import numpy as np

from engine.tracks import Detection, TrackSet


def _det(x: float, y: float, size: float = 100.0, hand: str = "right", score: float = 0.9) -> Detection:
    return Detection(centre=np.array([x, y]), size=size, handedness=hand, score=score)


def test_identities_follow_positions_not_detection_order():
    tracks = TrackSet(max_hands=2)
    matched, _ = tracks.match([_det(100, 200, hand="left"), _det(400, 200)])
    ids = {round(t.centre[0]): t.track_id for t, _ in matched}
    for step in range(1, 6):  # both move; the detector lists them in alternating order
        dets = [_det(100 + 20 * step, 200, hand="left"), _det(400 - 20 * step, 200)]
        matched, _ = tracks.match(dets[::-1] if step % 2 else dets)
        for track, det in matched:
            start = 100 if det.handedness == "left" else 400
            assert track.track_id == ids[start]


def test_a_jump_clears_the_recurrent_state_but_a_small_move_keeps_it():
    tracks = TrackSet(max_hands=1, jump_fraction=0.5)
    (track, _), = tracks.match([_det(100, 100)])[0]
    track.state = {"h": np.ones(3)}
    tracks.match([_det(130, 100)])  # 0.3 hand sizes
    assert "h" in track.state
    tracks.match([_det(210, 100)])  # 0.8 hand sizes: same hand, but its memory is stale
    assert track.state == {} and tracks.tracks[0] is track


def test_tracks_are_retired_after_lost_after_misses_and_ids_are_not_reused():
    tracks = TrackSet(max_hands=2, lost_after=2)
    (first, _), = tracks.match([_det(100, 100)])[0]
    for _ in range(2):
        _, missing = tracks.match([])
        assert missing == [first]
    tracks.match([])
    assert tracks.tracks == []
    (second, _), = tracks.match([_det(100, 100)])[0]
    assert second.track_id != first.track_id


def test_no_more_than_max_hands_tracks_keep_the_best_scores():
    tracks = TrackSet(max_hands=2)
    matched, _ = tracks.match([_det(0, 0, score=0.2), _det(300, 0, score=0.9), _det(600, 0, score=0.8)])
    assert sorted(round(t.centre[0]) for t, _ in matched) == [300, 600]
