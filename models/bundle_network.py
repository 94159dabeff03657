"""One network of MediaPipe's hand bundle on LiteRT, in half precision where the CPU computes it natively.

Why LiteRT: the bundle's networks are TFLite files; LiteRT runs them with XNNPACK, as MediaPipe does inside.
Why half precision: on CPUs with native fp16 arithmetic (x86 AVX512-FP16, ARM's FP16 extension) XNNPACK's fp16
inference halves the landmark network's CPU time (8.0 -> 4.1 ms a crop on one core of this host). On the same
crops of the 2,310 real photos of ../shared/data/real-hands (`docs/checks/mediapipe_fp16.py`): landmarks 0.33 px
from fp32 (0.2 % of the hand), metric landmarks 0.37 mm, handedness never different, the finger states of the
metric landmarks different in 50 (fingers on the rule's border). Elsewhere XNNPACK would emulate fp16, so these
CPUs run fp32.
"""
from __future__ import annotations

import atexit
import os
import sys
import zipfile
from pathlib import Path

import numpy as np

from models.mediapipe_hands import bundle_path, quiet_native_stderr

FORCE_FP16 = 4  # XNNPACK delegate flag: fp16 inference
_quiet_exit = False


def _silence_exit_logs() -> None:
    """LiteRT keeps an environment of its own from the first run to the end of the process and logs its
    accelerators as it destroys them, after Python has finished: standard error goes quiet at exit, once
    everything of ours (tracebacks included) has been printed. ``HANDSTREAM_DEBUG`` keeps it."""
    global _quiet_exit
    if _quiet_exit or os.environ.get("HANDSTREAM_DEBUG"):
        return
    _quiet_exit = True

    def quiet() -> None:
        sys.stderr.flush()
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)

    atexit.register(quiet)


def native_fp16() -> bool:
    """Whether this CPU computes fp16 in hardware (numpy's own CPU feature table)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as features
    return any(features.get(name, False) for name in ("AVX512FP16", "ASIMDHP"))


class BundleNetwork:
    """``run(x)`` -> the network's outputs, as float32 arrays of their shapes, for one input array."""

    def __init__(self, file: str, task_path: Path | str | None = None, threads: int | None = None,
                 fp16: bool | None = None) -> None:
        path = bundle_path(task_path)
        try:
            with zipfile.ZipFile(path) as bundle:
                model = bundle.read(file)
        except (zipfile.BadZipFile, KeyError) as exc:
            raise ValueError(f"hand detector bundle {path} cannot be loaded: {exc}") from None
        self.precision = "fp16" if (native_fp16() if fp16 is None else fp16) else "fp32"
        with quiet_native_stderr():  # LiteRT logs every accelerator and plugin it looks for
            from ai_edge_litert.compiled_model import CompiledModel
            from ai_edge_litert.cpu_options import CpuOptions
            from ai_edge_litert.environment import Environment, EnvironmentOptions
            from ai_edge_litert.hardware_accelerator import HardwareAccelerator
            from ai_edge_litert.options import Options

            cpu = CpuOptions(num_threads=threads or min(2, os.cpu_count() or 1),
                             xnnpack_flags=FORCE_FP16 if self.precision == "fp16" else None)
            try:
                self._environment = Environment.create(options=EnvironmentOptions())
                self._model = CompiledModel.from_buffer(
                    model, environment=self._environment,
                    options=Options(hardware_accelerators=HardwareAccelerator.CPU, cpu_options=cpu))
            except (RuntimeError, ValueError) as exc:  # LiteRT's message spans lines: its last says why
                why = str(exc).strip().splitlines()[-1].strip("└ ") if str(exc).strip() else type(exc).__name__
                raise ValueError(f"hand detector bundle {path}: {file} cannot be loaded: {why}") from None
            key, signature = next(iter(self._model.get_signature_list().items()))
            details = self._model.get_output_tensor_details(key)
            self._shapes = [tuple(details[name]["shape"]) for name in signature["outputs"]]
            self._inputs = self._model.create_input_buffers(0)
            self._outputs = self._model.create_output_buffers(0)
            shape = self._model.get_input_tensor_details(key)[signature["inputs"][0]]["shape"]
            self.run(np.zeros(shape, np.float32))  # the first run sets LiteRT up (and logs): here, quietly
        _silence_exit_logs()

    def close(self) -> None:
        """Release the network now, quietly (LiteRT logs each accelerator it destroys)."""
        with quiet_native_stderr():
            self._inputs = self._outputs = []
            self._model.close()
            self._environment.close()

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        """The outputs for one float32 input of the network's input shape."""
        self._inputs[0].write(np.ascontiguousarray(x, np.float32))
        self._model.run_by_index(0, self._inputs, self._outputs)
        return [out.read(int(np.prod(shape)), np.float32).reshape(shape)
                for out, shape in zip(self._outputs, self._shapes)]
