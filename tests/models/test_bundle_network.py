"""The bundle's networks on LiteRT: float32 and, where the CPU computes it, float16 giving the same answers."""
from __future__ import annotations

import numpy as np
import pytest

from models.bundle_network import BundleNetwork, native_fp16
from models.mediapipe_landmarks import LANDMARK_FILE
from models.mediapipe_palms import PALM_FILE


@pytest.mark.parametrize("file", [LANDMARK_FILE, PALM_FILE])
def test_outputs_have_the_networks_shapes_and_fp16_agrees_with_fp32(file: str) -> None:
    fp32 = BundleNetwork(file, fp16=False)
    assert fp32.precision == "fp32"
    size = 224 if file == LANDMARK_FILE else 192
    x = np.random.default_rng(0).random((1, size, size, 3), dtype=np.float32)
    out = fp32.run(x)
    assert [o.shape for o in out] == ([(1, 63), (1, 1), (1, 1), (1, 63)] if file == LANDMARK_FILE
                                      else [(1, 2016, 18), (1, 2016, 1)])
    assert all(o.dtype == np.float32 and np.isfinite(o).all() for o in out)
    assert not np.allclose(fp32.run(x[:, ::-1])[0], out[0])  # the input matters
    if not native_fp16():
        pytest.skip("this CPU has no native fp16: the networks run in fp32 only")
    fp16 = BundleNetwork(file)
    assert fp16.precision == "fp16"
    for a, b in zip(fp16.run(x), out):  # on noise; on real photos the landmarks are 0.3 px apart (module doc)
        assert np.abs(a - b).max() <= 0.01 * max(1.0, float(np.abs(b).max()))
