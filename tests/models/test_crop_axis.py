"""Which way is up in an upright crop: the principal axis pointed away from a forearm leaving the crop."""
from __future__ import annotations

import numpy as np
import pytest

from models import crop_axis


def _hand_with_arm(angle_deg: float, arm: bool, size: int = 64) -> np.ndarray:
    """A normalised crop (+1 = background) of a 'hand' pointing along `angle_deg` in the image (0 = right, 90 =
    down): fingers spread wide at its tip end, and with `arm` a long forearm running from the palm out of the
    crop's disc the other way, so the pixels reach further towards the arm than towards the fingers."""
    grid = (np.arange(size) + 0.5) / size * 2.0 - 1.0
    x, y = grid[None, :], grid[:, None]
    a = np.radians(angle_deg)
    along, across = x * np.cos(a) + y * np.sin(a), -x * np.sin(a) + y * np.cos(a)
    palm = (along + 0.1) ** 2 + across ** 2 < 0.25 ** 2
    fingers = (along > 0.0) & (along < 0.55) & (np.abs(across) < 0.3) & (np.cos(across * 40) > 0.2)
    crop = np.where(palm | fingers, 0.0, 1.0).astype(np.float32)
    if arm:
        crop[(along < -0.1) & (np.abs(across) < 0.14)] = 0.1
    return crop


def _off(angle: float, direction_deg: float) -> float:
    """How far (degrees) the image direction an upright crop's turn `angle` sends up is from `direction_deg`."""
    pointing = np.degrees(np.arctan2(-np.cos(angle), np.sin(angle)))
    return abs((pointing - direction_deg + 180) % 360 - 180)


@pytest.mark.parametrize("angle_deg", [0.0, 90.0, 200.0, 315.0])
def test_the_first_look_points_away_from_a_forearm_leaving_the_crop(angle_deg):
    crop = _hand_with_arm(angle_deg, arm=True)
    assert _off(crop_axis.arm_axis_angle(crop), angle_deg) < 10
    # the third moment follows the pixels that reach further: the arm, the hand upside down
    assert _off(crop_axis.hand_axis_angle(crop), angle_deg + 180) < 10


def test_without_a_forearm_on_the_rim_the_first_look_is_the_principal_axis_as_before():
    crop = _hand_with_arm(60.0, arm=False)
    assert not (crop[:2] < 1).any()  # nothing near the rim
    assert crop_axis.arm_axis_angle(crop) == crop_axis.hand_axis_angle(crop)
    assert crop_axis.arm_axis_angle(np.ones((32, 32), np.float32)) == 0.0
