"""ONNX Runtime CPU sessions for evaluating exported models (the live engine has its own, with provider
choice and the streaming contract: ``engine.runtime``)."""
from __future__ import annotations

from pathlib import Path


def open_session(model: Path, threads: int = 2):
    """An ONNX Runtime CPU session of an exported model, polite on a shared CPU (no spinning)."""
    import onnxruntime as ort

    model = Path(model)
    if not model.is_file():
        raise FileNotFoundError(f"model {model} does not exist")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


def write_metadata(path: Path | str, metadata: dict[str, str]) -> None:
    """Replace an ONNX file's metadata with ``metadata``: what the engine reads to run the model right."""
    import onnx

    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
