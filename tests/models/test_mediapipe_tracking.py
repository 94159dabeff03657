"""MediaPipe Hands on a video with the palm detector only now and then: MediaPipe's own answers, the palm
detector only to find hands, a second hand found within ``search_every`` frames."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.demo import render_demo_frame
from models.mediapipe_hands import MediaPipeHands
from models.mediapipe_tracking import TrackedMediaPipeHands


def demo_frames(count: int, mirror: bool = False) -> list[np.ndarray]:
    frames = [render_demo_frame(0.4 + i / 30.0, "rgb")[0] for i in range(count)]
    return [np.ascontiguousarray(f[:, ::-1]) for f in frames] if mirror else frames


@pytest.mark.parametrize("mirror", [False, True], ids=["right hand", "left hand"])
def test_tracked_hands_are_what_mediapipes_video_mode_reports(mirror: bool) -> None:
    frames = demo_frames(16, mirror)
    # in fp32, as MediaPipe runs its networks (fp16 moves landmarks ~0.3 px: test_bundle_network)
    tracked, video = TrackedMediaPipeHands(max_hands=1, fp16=False), MediaPipeHands(max_hands=1)
    try:
        ours = [tracked.detect(f) for f in frames]
        theirs = [video.detect(f, i / 30.0) for i, f in enumerate(frames)]
    finally:
        tracked.close()
        video.close()
    assert [len(h) for h in ours] == [len(h) for h in theirs] == [1] * len(frames)
    pairs = [(a, b) for (a,), (b,) in zip(ours, theirs)]
    side = "left" if mirror else "right"  # MediaPipe itself calls one borderline frame of this clip the other side
    assert sum(a.handedness == side for a, _ in pairs) >= len(pairs) - 1
    assert sum(a.handedness == b.handedness for a, b in pairs) >= len(pairs) - 2
    # On the mirrored clip the handedness score falls to 0.55-0.75 and moves with the crop's sub-pixel place:
    # 0.022 there on hand model 1.2's renders, 0.041 on 1.3's; 0.003 on the clip itself.
    assert np.median([abs(a.score - b.score) for a, b in pairs]) < (0.05 if mirror else 0.01)
    # the first frame comes from the palm detector's crop (1-4 px from MediaPipe's: `test_mediapipe_palms`), then
    # both follow the hand from the previous frame's landmarks and come together within a few frames; where a pose
    # is ambiguous a crop a little off sends either elsewhere for a frame or two, so the typical frame is compared
    assert np.median([np.linalg.norm(a.landmarks - b.landmarks, axis=1).mean() for a, b in pairs]) < 1.0  # px
    assert np.median([np.abs(a.relative_z - b.relative_z).mean() for a, b in pairs]) < 3.0  # px, z up to ~80
    assert np.median([np.abs(a.world - b.world).mean() for a, b in pairs]) < 0.0015  # metres


def test_the_palm_detector_runs_only_to_find_hands() -> None:
    blank = np.full((480, 640, 3), 90, np.uint8)
    frames = [blank] * 3 + demo_frames(10)
    tracked = TrackedMediaPipeHands(max_hands=2, search_every=4)
    searched, found = [], []
    real = tracked._palms.detect
    tracked._palms.detect = lambda rgb: searched.append(len(found)) or real(rgb)  # the frame's index
    try:
        for f in frames:
            found.append(len(tracked.detect(f)))
    finally:
        tracked.close()
    assert found == [0, 0, 0] + [1] * 10
    # every frame while no hand is tracked; then every 4th while a second hand could be added
    assert searched == [0, 1, 2, 3, 7, 11]


def test_a_hand_coming_into_view_is_found_within_search_every_frames() -> None:
    """Two hands side by side (the demo hand and its mirror image, half size): the second is added to the first
    within ``search_every`` frames of coming into view, and both are followed from then on."""
    frames = []
    for i, f in enumerate(demo_frames(12)):
        small = cv2.resize(f, (320, 240), interpolation=cv2.INTER_AREA)
        canvas = np.full((480, 640, 3), small[0, 0], np.uint8)
        canvas[120:360, :320] = small
        if i >= 4:
            canvas[120:360, 320:] = small[:, ::-1]
        frames.append(canvas)
    tracked = TrackedMediaPipeHands(max_hands=2, search_every=4)
    try:
        found = [tracked.detect(f) for f in frames]
    finally:
        tracked.close()
    counts = [len(h) for h in found]
    assert counts[:4] == [1] * 4
    first_two = counts.index(2)
    assert 4 <= first_two <= 4 + 3 and counts[first_two:] == [2] * (len(frames) - first_two)
    assert sorted(h.handedness for h in found[-1]) == ["left", "right"]
    assert sorted(float(h.landmarks[:, 0].mean()) > 320 for h in found[-1]) == [False, True]
