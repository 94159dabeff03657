"""ONNX Runtime sessions for the streaming models: provider choice, contract checks, warm-up, state.

Why here: the engine should not care whether a GPU exists. Providers are picked best-first
(TensorRT, CUDA, CPU) from what this onnxruntime build offers, and the choice is reported. On a GPU the
recurrent state stays on the device between frames through I/O binding; on the CPU plain ``run``
is already copy-free.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
STATE_INPUTS = {"h": "h_out", "c": "c_out"}  # the recurrent state, optional (a per-frame model has none)


def pick_providers(requested: tuple[str, ...] | list[str] | None = None) -> list[str]:
    """Execution providers to use, best first; unknown requested names are a one-line error."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if requested:
        missing = [p for p in requested if p not in available]
        if missing:
            raise ValueError(f"execution provider {missing[0]} is not available here "
                             f"(available: {', '.join(available)})")
        chosen = list(requested)
    else:
        chosen = [p for p in PREFERRED_PROVIDERS if p in available]
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")  # always a fallback for unsupported nodes
    return chosen


def _with_options(provider: str) -> str | tuple[str, dict]:
    """TensorRT builds its engines at start-up: cache them (and allow fp16) so only the first run waits."""
    if provider != "TensorrtExecutionProvider":
        return provider
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "handstream" / "tensorrt"
    cache.mkdir(parents=True, exist_ok=True)
    return provider, {"trt_engine_cache_enable": True, "trt_engine_cache_path": str(cache), "trt_fp16_enable": True}


@dataclass
class ModelInfo:
    """What the engine needs to know about a streaming model, read from its ONNX metadata."""

    kind: str
    path: Path
    metadata: dict[str, str]
    input_size: int = 0
    state_shape: tuple[int, ...] = ()
    cube_mm: float = 250.0
    crop_size: int = 128
    joint_layout: str = "hand21"
    upright: bool = False  # cadstn: crops turned so the hand's long axis points up (models.depth_crop)
    hand_model: str = ""
    pose_pca: int = 10
    input_names: list[str] = field(default_factory=list)


class ModelContract(Protocol):
    """What a session needs to know of its model kind: each estimator class (``engine.estimators``) is one."""

    kind: str  # the ONNX metadata's "model"
    inputs: tuple[str, ...]  # required inputs and outputs besides the optional state
    outputs: tuple[str, ...]

    def read_info(self, info: ModelInfo, meta: dict[str, str], inputs: dict) -> None: ...

    def example_inputs(self, info: ModelInfo) -> dict[str, np.ndarray]: ...


class ModelSession:
    """One ONNX Runtime session of a streaming model, checked against its estimator's contract.

    ``contract`` is the model kind's estimator class (``engine.estimators.KINDS[kind]``): it names the
    inputs and outputs the file must have, reads its metadata and gives the warm-up inputs.
    ``step(inputs, state)`` runs one frame and returns (outputs without the state, the new state).
    ``zero_state()`` is the state of a fresh track. A missing or non-conforming file raises a
    one-line FileNotFoundError/ValueError naming it.
    """

    def __init__(self, path: Path | str, contract: ModelContract,
                 providers: tuple[str, ...] | list[str] | None = None, threads: int = 1, warmup: int = 2) -> None:
        import onnxruntime as ort

        path = Path(path)
        kind = contract.kind
        self.contract = contract
        if not path.is_file():
            raise FileNotFoundError(f"{kind} model {path} is missing (train and export it, or pass "
                                    "--model-path)")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, threads)
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning threads burn a shared CPU while waiting; the live path would gain nothing from them.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
        chosen = pick_providers(providers)
        try:
            self.session = ort.InferenceSession(str(path), sess_options=opts,
                                                providers=[_with_options(p) for p in chosen])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(f"{kind} model {path} cannot be loaded: {first}") from None
        self.providers = list(self.session.get_providers())
        self._outputs = [o.name for o in self.session.get_outputs()]  # asked for on every frame: read once
        self.info = self._read_info(path)
        self.on_gpu = self.providers[0] in GPU_PROVIDERS
        self.recurrent = bool(self.info.state_shape)
        self._zero = {name: np.zeros(self.info.state_shape, np.float32) for name in STATE_INPUTS} \
            if self.recurrent else {}
        try:
            for _ in range(warmup):
                self.step(self.example_inputs(), self.zero_state())
        except Exception as exc:  # noqa: BLE001 - onnxruntime's own types; the file, not the caller, is wrong
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(f"{kind} model {path}: its metadata does not fit its graph "
                             f"(state_shape {list(self.info.state_shape)}, input size): {first[:200]}") from None

    def _read_info(self, path: Path) -> ModelInfo:
        kind = self.contract.kind
        inputs = {i.name: i for i in self.session.get_inputs()}
        outputs = {o.name for o in self.session.get_outputs()}
        missing = [n for n in self.contract.inputs if n not in inputs] + \
            [n for n in self.contract.outputs if n not in outputs]
        recurrent = [n in inputs for n in STATE_INPUTS] + [n in outputs for n in STATE_INPUTS.values()]
        if any(recurrent) and not all(recurrent):
            missing = [n for n in (*STATE_INPUTS, *STATE_INPUTS.values()) if n not in inputs and n not in outputs]
        if missing:
            raise ValueError(f"{path} is not a streaming {kind} model: it lacks '{missing[0]}' "
                             f"(inputs {sorted(inputs)}, outputs {sorted(outputs)})")
        meta = dict(self.session.get_modelmeta().custom_metadata_map)
        if meta.get("model", kind) != kind:
            raise ValueError(f"{path} is a {meta.get('model')} model, not {kind}")
        try:
            if "h" not in inputs:
                state_shape = ()
            elif "state_shape" in meta:
                state_shape = tuple(int(v) for v in json.loads(meta["state_shape"]))
            else:
                state_shape = tuple(int(d) for d in inputs["h"].shape)
            info = ModelInfo(kind=kind, path=path, metadata=meta, state_shape=state_shape,
                             input_names=list(inputs))
            self.contract.read_info(info, meta, inputs)
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"{path}: bad streaming metadata ({exc})") from None
        return info

    def zero_state(self) -> dict[str, np.ndarray]:
        """The recurrent state of a fresh track (zeros, per the contract; empty for per-frame models)."""
        return dict(self._zero)

    def example_inputs(self) -> dict[str, np.ndarray]:
        """Inputs of the right shapes, for warm-up and benchmarks."""
        return self.contract.example_inputs(self.info)

    def step(self, inputs: dict[str, np.ndarray], state: dict) -> tuple[dict[str, np.ndarray], dict]:
        """One frame: the estimator's ``inputs`` plus ``state`` → (outputs, new state)."""
        if self.on_gpu:
            return self._step_bound(inputs, state)
        values = self.session.run(self._outputs, {**inputs, **state})
        out = dict(zip(self._outputs, values))
        new_state = {k: out.pop(v) for k, v in STATE_INPUTS.items() if v in out}
        return out, new_state

    def _step_bound(self, inputs: dict[str, np.ndarray], state: dict) -> tuple[dict[str, np.ndarray], dict]:
        """GPU: bind inputs, keep the state outputs on the device as OrtValues for the next frame."""
        import onnxruntime as ort

        binding = self.session.io_binding()
        for name, value in inputs.items():
            binding.bind_cpu_input(name, value)
        for name, value in state.items():
            if isinstance(value, ort.OrtValue):
                binding.bind_ortvalue_input(name, value)
            else:
                binding.bind_cpu_input(name, value)
        for name in self._outputs:
            binding.bind_output(name, "cuda" if name in STATE_INPUTS.values() else "cpu")
        self.session.run_with_iobinding(binding)
        values = dict(zip(self._outputs, binding.get_outputs()))
        new_state = {k: values.pop(v) for k, v in STATE_INPUTS.items() if v in values}
        return {k: v.numpy() for k, v in values.items()}, new_state
