"""The real-image check on the SR305 depth frames, with the shipped CADSTN model through the engine."""
from __future__ import annotations

import numpy as np
import pytest

from engine.real_depth import OPEN_HAND_SEQUENCE, RealDepthOptions, evaluate_real_depth, load_sr305
from engine.real_hands import REAL_HANDS_DIR

needs_frames = pytest.mark.skipif(not (REAL_HANDS_DIR / "depth-sr305").is_dir(),
                                  reason=f"SR305 depth frames not found in {REAL_HANDS_DIR / 'depth-sr305'}")


def test_a_colour_model_is_refused_one_line() -> None:
    with pytest.raises(ValueError, match="no colour"):
        evaluate_real_depth(RealDepthOptions(model="seqhand"))


@needs_frames
def test_depth_frames_run_in_order_as_sequences_and_the_open_hand_is_scored() -> None:
    depth = load_sr305(REAL_HANDS_DIR / "depth-sr305" / OPEN_HAND_SEQUENCE / "30.png")
    assert depth.dtype == np.uint16 and 500 < np.median(depth[depth > 0]) < 1000  # 0.125 mm units to mm
    result = evaluate_real_depth()
    open_hand = [p for p in result.predictions if p.sequence == OPEN_HAND_SEQUENCE]
    assert [int(p.file.rsplit("/", 1)[1][:-4]) for p in open_hand] == list(range(30, 171, 20))
    assert len(result.predictions) == 19 and result.open_hand_frames == 8
    assert result.open_hand_all_five == sum(p.states is not None and p.states.count == 5 for p in open_hand)
    assert sum(p.states is not None for p in result.predictions) >= 12
