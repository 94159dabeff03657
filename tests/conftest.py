"""Shared test setup: keep torch and ONNX Runtime polite on the shared 2-core machine, Qt offscreen."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # multi-threaded BLAS crawls on the shared 2 cores
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parents[1]
