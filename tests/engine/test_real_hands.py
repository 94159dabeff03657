"""The real-image check on the real photos and depth frames, with real MediaPipe and the shipped models."""
from __future__ import annotations

import json

import numpy as np
import pytest

from engine.real_hands import (
    DIGITS,
    REAL_HANDS_DIR,
    Photo,
    PhotoPrediction,
    RealHandsOptions,
    digit_photos,
    evaluate_real_hands,
    hands_photos,
    load_photo,
    pad_digit,
    score,
)
from models.finger_states import DIGIT_EXTENDED

needs_photos = pytest.mark.skipif(not REAL_HANDS_DIR.is_dir(), reason=f"real-hands data not found in {REAL_HANDS_DIR}")
LIMIT = 20


@pytest.fixture(scope="module")
def report():
    """The shipped colour default (the lifter) and MediaPipe on the first 20 photos of each set, spread over the
    classes."""
    return evaluate_real_hands(RealHandsOptions(limit=LIMIT))


def test_a_digit_photo_is_padded_by_replicated_border_and_scaled_to_400() -> None:
    photo = np.zeros((100, 100, 3), np.uint8)
    photo[:50, :50], photo[:50, 50:], photo[50:, :50], photo[50:, 50:] = (200, 0, 0), (0, 200, 0), (0, 0, 200), 90
    out = pad_digit(photo)
    assert out.shape == (400, 400, 3)
    # 50 px of border each side, doubled: the outer 100 px repeat the photo's edge colours
    assert out[0, 0].tolist() == [200, 0, 0] and out[0, 399].tolist() == [0, 200, 0]
    assert out[399, 0].tolist() == [0, 0, 200] and out[399, 399].tolist() == [90, 90, 90]
    assert out[150, 250].tolist() == [0, 200, 0]  # the photo itself fills the middle 200 x 200


@needs_photos
def test_the_photo_sets_are_read_whole_and_limited_over_all_classes() -> None:
    digits, hands = digit_photos(), hands_photos()
    assert len(digits) == 2062 and {p.label for p in digits} == set(range(10))
    assert len(hands) == 275 and {p.label for p in hands} == set(range(6))  # 312 photos, 275 with one box
    assert "handsdataset/images/96_pic00005.jpg" not in {p.file for p in hands}  # two boxes: left out
    few = digit_photos(limit=LIMIT)
    assert [p.label for p in few] == list(range(10)) * 2 and few == digit_photos(limit=LIMIT)
    assert sorted(p.label for p in hands_photos(limit=12)) == sorted(list(range(6)) * 2)
    real = load_photo(few[0])
    assert real.shape == (400, 400, 3) and real.dtype == np.uint8
    assert hands[0].box is not None and load_photo(hands[0]).shape == (600, 800, 3)


def test_a_photo_without_a_hand_counts_as_all_wrong(tmp_path) -> None:
    seven = Photo(DIGITS, tmp_path, "7.JPG", 7)
    found = PhotoPrediction(seven, DIGIT_EXTENDED[7])
    missed = PhotoPrediction(seven, None)
    assert (found.long_right, found.right, missed.long_right, missed.right) == (4, True, 0, False)
    scores = score("x", [found, missed])
    assert scores.digits_long_finger == 0.5 and scores.digits_all_four == 0.5 and scores.found == 1
    assert scores.digits_confusion[7][-1] == 1  # the 'no hand' column
    assert scores.digits_finger_confusion["ring"] == [[1, 1], [0, 0]]  # the miss said the bent ring was extended


@needs_photos
def test_mediapipe_reads_most_fingers_right_and_the_model_row_scores_the_same_photos(report) -> None:
    model, mediapipe = report.rows
    assert (model.name, mediapipe.name) == ("lifter", "mediapipe")
    assert mediapipe.digits_long_finger > 0.85
    # the lifter reads MediaPipe's landmarks: on all photos it scores 98.3 / 95.3 / 89.1 % (its card)
    assert model.digits_long_finger > 0.85 and model.hands_count >= mediapipe.hands_count - 0.1
    assert [p.photo for p in model.predictions] == [p.photo for p in mediapipe.predictions]
    assert (model.digits_photos, model.hands_photos) == (LIMIT, LIMIT)
    both = [(a, b) for a, b in zip(model.predictions, mediapipe.predictions) if a.found and b.found]
    assert len(both) >= 30
    for ours, theirs in both:  # the model's skeleton lies on MediaPipe's hand, in the same pixels, but is its own
        size = np.ptp(theirs.joints_2d, axis=0).max()  # (the hand model's joints: near MediaPipe's, never a copy)
        assert np.linalg.norm(ours.joints_2d.mean(0) - theirs.joints_2d.mean(0)) < 0.5 * size
        assert np.abs(ours.joints_2d - theirs.joints_2d).mean() > 0.005 * size


@needs_photos
def test_scores_agree_with_their_confusion_tables_and_serialise(report) -> None:
    for row in report.rows:
        right = sum(t[0][0] + t[1][1] for t in row.digits_finger_confusion.values())
        assert right == pytest.approx(row.digits_long_finger * 4 * row.digits_photos)
        counts = np.array(row.hands_confusion)
        assert counts.sum() == row.hands_photos
        assert np.trace(counts[:, :6]) == pytest.approx(row.hands_count * row.hands_photos)
        assert np.array(row.digits_confusion).sum() == row.digits_photos
    numbers = json.loads(json.dumps(report.to_dict()))
    row = numbers["rows"]["mediapipe"]
    for key in ("digits_long_finger", "digits_all_four", "hands_count", "found", "digits_confusion",
                "digits_finger_confusion", "hands_confusion", "predictions"):
        assert key in row
    assert len(row["predictions"]) == 2 * LIMIT and set(row["predictions"][0]) >= {"file", "label", "states"}


def test_a_depth_only_model_is_refused_one_line() -> None:
    with pytest.raises(ValueError, match="reads depth only"):
        evaluate_real_hands(RealHandsOptions(model="cadstn"))
