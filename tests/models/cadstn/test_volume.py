"""The in-graph sliced volume (torch) equals the numpy reference the engine can use."""
from __future__ import annotations

import numpy as np
import torch

from models import depth_crop
from models.cadstn.volume import sliced_volume
from tests.models.cadstn.conftest import hand_like_crops


def test_torch_volume_matches_numpy_exactly():
    crops = hand_like_crops((5, 1, 32, 32), seed=3)
    crops[4] = 1.0  # an empty crop: no slice set
    ours = sliced_volume(torch.from_numpy(crops), 8).numpy()
    for crop, vol in zip(crops, ours):
        np.testing.assert_array_equal(vol, depth_crop.sliced_volume(crop[0], 8))
    # every hand pixel lies in exactly one slice, background in none
    np.testing.assert_array_equal(ours.sum(axis=1), (crops[:, 0] < 1.0).astype(np.float32))
    assert ours[:4, 0].sum() > 0 and ours[:4, 7].sum() > 0  # Dmin and Dmax slices are used
