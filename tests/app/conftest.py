"""App test fixtures: a Qt-friendly thread setting and the engine's tiny contract-following models.

The tiny ONNX builders live in ``tests/engine/conftest.py`` (the engine's tests own them); they are
loaded from there rather than copied, so both test suites exercise the same models.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_ENGINE_CONFTEST = Path(__file__).resolve().parents[1] / "engine" / "conftest.py"


def _engine_test_models():
    spec = importlib.util.spec_from_file_location("handstream_engine_test_models", _ENGINE_CONFTEST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def app_seqhand_model(tmp_path_factory) -> Path:
    """A tiny SeqHAND-Net ONNX file (real ONNX Runtime session, recurrent state that matters)."""
    import torch

    torch.set_num_threads(1)
    return _engine_test_models().build_tiny_seqhand(tmp_path_factory.mktemp("app_models") / "seqhand.onnx")


@pytest.fixture(scope="session")
def app_cadstn_model(tmp_path_factory) -> Path:
    """A tiny CADSTN ONNX file."""
    import torch

    torch.set_num_threads(1)
    return _engine_test_models().build_tiny_cadstn(tmp_path_factory.mktemp("app_models") / "cadstn.onnx")


def qimage_to_array(image) -> np.ndarray:
    """HxWx3 uint8 RGB copy of a QImage."""
    from PyQt6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGB888)
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    rows = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


@pytest.fixture
def image_array():
    """The QImage → numpy converter (tests compare pixel statistics)."""
    return qimage_to_array
