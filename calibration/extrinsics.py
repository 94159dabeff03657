"""Rigid transforms between two cameras (e.g. a RealSense's depth and colour sensors), in millimetres."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Extrinsics:
    """Maps points of camera A to camera B: ``X_b = rotation @ X_a + translation_mm``."""

    rotation: np.ndarray  # (3, 3), orthonormal
    translation_mm: np.ndarray  # (3,)

    def __post_init__(self) -> None:
        r = np.asarray(self.rotation, np.float64).reshape(3, 3)
        t = np.asarray(self.translation_mm, np.float64).reshape(3)
        if not np.allclose(r @ r.T, np.eye(3), atol=1e-4) or np.linalg.det(r) < 0:
            raise ValueError("extrinsics rotation is not a rotation matrix (orthonormal, det +1)")
        object.__setattr__(self, "rotation", r)
        object.__setattr__(self, "translation_mm", t)

    @classmethod
    def identity(cls) -> Extrinsics:
        return cls(np.eye(3), np.zeros(3))

    def apply(self, points_mm: np.ndarray) -> np.ndarray:
        """Camera-A points (..., 3) mm → camera-B points (..., 3) mm."""
        return np.asarray(points_mm, np.float64) @ self.rotation.T + self.translation_mm

    def inverse(self) -> Extrinsics:
        """The transform from B back to A."""
        return Extrinsics(self.rotation.T, -self.rotation.T @ self.translation_mm)
