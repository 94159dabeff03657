"""Shared fixtures: the hand model and a small procedural pose bank (built once per test session)."""
from __future__ import annotations

import pytest

from models.hand.model import HandModel, load_hand_model
from models.synth.pose_bank import PoseBank, procedural_bank


@pytest.fixture(scope="session")
def hand_model() -> HandModel:
    return load_hand_model()


@pytest.fixture(scope="session")
def small_bank(hand_model: HandModel) -> PoseBank:
    return procedural_bank(3000, seed=1, model=hand_model)
