"""`handstream eval --data real-hands / real-depth` and the contact sheets, on the real photos."""
from __future__ import annotations

import json

import cv2
import pytest

from app import cli
from app.contact_sheet import CAPTION_PX, HEADER_PX, photo_caption, photo_sheet, sample_tiles
from engine.real_hands import REAL_HANDS_DIR, digit_photos, hands_photos, predict_mediapipe, score

needs_photos = pytest.mark.skipif(not REAL_HANDS_DIR.is_dir(), reason=f"real-hands data not found in {REAL_HANDS_DIR}")


@needs_photos
def test_eval_real_hands_prints_both_rows_and_writes_json_and_two_sheets(tmp_path, capsys) -> None:
    out = tmp_path / "rh" / "lifter.json"
    assert cli.main(["eval", "--data", "real-hands", "--limit", "4", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    assert "lifter" in lines and "mediapipe" in lines and "%" in lines["mediapipe"]
    assert "wall time" in text
    numbers = json.loads(out.read_text())
    assert set(numbers["rows"]) == {"lifter", "mediapipe"}
    assert numbers["rows"]["mediapipe"]["digits_photos"] == 4 and numbers["rows"]["lifter"]["hands_photos"] == 4
    for name in ("lifter_real_hands.png", "mediapipe_real_hands.png"):  # beside --json by default
        sheet = cv2.imread(str(out.parent / name))
        assert sheet is not None and sheet.shape[1] == 6 * 160


@needs_photos
def test_eval_real_depth_scores_the_open_hand_and_draws_the_frames(tmp_path, capsys) -> None:
    assert cli.main(["eval", "--data", "real-depth", "--sheet", str(tmp_path)]) == 0
    assert "all five extended in" in capsys.readouterr().out
    sheet = cv2.imread(str(tmp_path / "cadstn_real_depth.png"))
    assert sheet.shape == (HEADER_PX + 4 * (160 + CAPTION_PX), 5 * 160, 3)  # 19 frames, 5 a row


def test_eval_real_errors_are_one_line(tmp_path, capsys) -> None:
    assert cli.main(["eval", "--data", "real-hands", "--root", str(tmp_path / "nowhere")]) == 2
    assert cli.main(["eval", "--data", "real-hands", "--model", "cadstn", "--root", str(tmp_path)]) == 2
    assert cli.main(["eval", "--data", "synth"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and all(e.startswith("handstream: error:") for e in errors)
    assert "is missing" in errors[0] and "depth only" in errors[1] and "--model is required" in errors[2]


@needs_photos
def test_the_sheet_frames_right_tiles_green_and_wrong_ones_red(tmp_path) -> None:
    photos = digit_photos(limit=30) + hands_photos(limit=12)
    scores = score("mediapipe", predict_mediapipe(photos))
    path = photo_sheet(scores, tmp_path / "sheet.png")
    sheet = cv2.imread(str(path))[..., ::-1]
    assert sheet.shape == (HEADER_PX + 6 * (160 + CAPTION_PX), 6 * 160, 3)
    tiles = sample_tiles(scores.predictions, 36)
    assert len(tiles) == 36 and len({t.photo for t in tiles}) == 36
    assert sum(t.photo.kind == "hands" for t in tiles) == 12
    for k, tile in enumerate(tiles):
        x, y = k % 6 * 160 + 80, HEADER_PX + k // 6 * (160 + CAPTION_PX) + 1  # the frame's top edge
        r, g, b = sheet[y, x].astype(int)
        assert (g > r + 80) if tile.right else (r > g + 80), (k, photo_caption(tile))
