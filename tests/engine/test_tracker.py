"""The Python API: the README's example runs as printed; options, modes and bad input behave as documented."""
from __future__ import annotations

import re

import numpy as np
import pytest

from engine.demo import DEMO_INTRINSICS, demo_frame_index, demo_truth, render_demo_frame
from engine.tracker import HandTracker, HandTrackerOptions
from tests.conftest import REPO_ROOT


def test_the_readme_example_runs_and_prints_fingertips(capsys) -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert len(code.strip().splitlines()) <= 12
    exec(compile(code, "README.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) >= 25 and all("right" in line for line in lines)


def test_video_mode_tracks_one_hand_near_the_truth() -> None:
    from models.hand.model import load_hand_model

    truth, vertices = demo_truth().joints_3d, load_hand_model().num_vertices
    errors, ids = [], set()
    with HandTracker(HandTrackerOptions(intrinsics=DEMO_INTRINSICS, max_hands=1)) as tracker:
        for i in range(20):
            result = tracker.process(rgb=render_demo_frame(i / 30.0, "rgb")[0], timestamp=i / 30.0)
            (hand,) = result.hands
            ids.add(hand.track_id)
            gt = truth[demo_frame_index(i / 30.0)]
            errors.append(np.linalg.norm((hand.joints_3d - hand.joints_3d[0]) - (gt - gt[0]), axis=-1).mean())
            assert hand.vertices.shape == (vertices, 3) and hand.theta.shape == (45,) and hand.beta.shape == (10,)
        assert tracker.lock_shape().locked
    assert len(ids) == 1 and np.mean(errors) < 40.0


def test_image_mode_treats_every_picture_on_its_own() -> None:
    rgb = render_demo_frame(0.0, "rgb")[0]
    with HandTracker(HandTrackerOptions(running_mode="image", intrinsics=DEMO_INTRINSICS)) as tracker:
        first, again = tracker.process(rgb=rgb), tracker.process(rgb=rgb, timestamp=0.0)  # no order needed
    assert first.hands[0].track_id != again.hands[0].track_id  # a fresh sequence each time
    np.testing.assert_allclose(first.hands[0].joints_3d, again.hands[0].joints_3d, atol=1e-4)


def test_depth_model_on_depth_frames_and_one_line_errors() -> None:
    _, depth = render_demo_frame(0.0, "depth")
    with HandTracker(HandTrackerOptions(model="cadstn", intrinsics=DEMO_INTRINSICS)) as tracker:
        assert len(tracker.process(depth=depth).hands) == 1
        with pytest.raises(ValueError, match="timestamps must increase"):
            tracker.process(depth=depth, timestamp=0.0)
        with pytest.raises(ValueError, match="uint16"):
            tracker.process(depth=depth.astype(np.float32))
        with pytest.raises(ValueError, match="rgb, depth or both"):
            tracker.process()
    with pytest.raises(ValueError, match="running_mode"):
        HandTracker(HandTrackerOptions(running_mode="live"))


def test_stream_gives_what_process_gives_frame_by_frame_with_errors_in_place() -> None:
    frames = [render_demo_frame(i / 30.0, "rgb")[0] for i in range(10)]
    with HandTracker(HandTrackerOptions(intrinsics=DEMO_INTRINSICS, vertices=False)) as tracker:
        one_by_one = [tracker.process(rgb=rgb) for rgb in frames]
    with HandTracker(HandTrackerOptions(intrinsics=DEMO_INTRINSICS, vertices=False)) as tracker:
        streamed = list(tracker.stream(frames[:5] + [{"rgb": rgb, "timestamp": (i + 5) / 30.0}
                                                     for i, rgb in enumerate(frames[5:])]))
    assert [r.frame_index for r in streamed] == list(range(10))
    for a, b in zip(streamed, one_by_one):
        assert len(a.hands) == len(b.hands) == 1
        np.testing.assert_array_equal(a.hands[0].joints_3d, b.hands[0].joints_3d)
    with HandTracker(HandTrackerOptions(intrinsics=DEMO_INTRINSICS, vertices=False)) as tracker:
        results = tracker.stream([frames[0], frames[1], frames[2].astype(np.float32), frames[3]])
        assert [r.frame_index for r in (next(results), next(results))] == [0, 1]
        with pytest.raises(ValueError, match="uint8"):
            next(results)


def test_a_depth_stream_gives_what_process_gives_with_the_detector_a_frame_ahead() -> None:
    depths = [render_demo_frame(i / 30.0, "depth")[1] for i in range(6)]
    options = HandTrackerOptions(model="cadstn", intrinsics=DEMO_INTRINSICS, vertices=False)
    with HandTracker(options) as tracker:
        one_by_one = [tracker.process(depth=depth) for depth in depths]
    with HandTracker(options) as tracker:
        assert tracker._engine.detects_ahead
        streamed = list(tracker.stream([{"depth": depth} for depth in depths]))
    assert [r.frame_index for r in streamed] == list(range(6))
    for a, b in zip(streamed, one_by_one):
        assert len(a.hands) == len(b.hands) == 1
        np.testing.assert_array_equal(a.hands[0].joints_3d, b.hands[0].joints_3d)
    with HandTracker(options) as tracker:
        results = tracker.stream([{"depth": depths[0]}, {"depth": depths[1].astype(np.float32)}])
        assert next(results).frame_index == 0
        with pytest.raises(ValueError, match="uint16"):
            next(results)
