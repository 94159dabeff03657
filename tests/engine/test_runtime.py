"""ONNX Runtime sessions: providers, contract checks, recurrent state, per-frame models."""
from __future__ import annotations

import numpy as np
import pytest

from engine.estimators import KINDS
from engine.runtime import ModelSession, pick_providers


def test_providers_are_picked_best_first_and_cpu_is_always_there():
    import onnxruntime as ort

    chosen = pick_providers()
    assert chosen[-1] == "CPUExecutionProvider"
    assert all(p in ort.get_available_providers() for p in chosen)
    with pytest.raises(ValueError, match="NoSuchExecutionProvider is not available"):
        pick_providers(["NoSuchExecutionProvider"])


def test_the_state_comes_from_metadata_and_changes_the_next_output(tiny_cadstn):
    session = ModelSession(tiny_cadstn, KINDS["cadstn"])
    assert session.providers == ["CPUExecutionProvider"] and session.recurrent
    assert session.info.state_shape == (1, 16) and session.info.cube_mm == 250.0
    assert not session.info.upright  # a file without the key: crops as cut
    feeds = {"depth": np.random.default_rng(0).uniform(-1, 1, (1, 1, 128, 128)).astype(np.float32)}
    first, state = session.step(feeds, session.zero_state())
    second, _ = session.step(feeds, state)
    again, _ = session.step(feeds, session.zero_state())
    assert first["joints"].shape == (1, 21, 3) and set(state) == {"h", "c"}
    assert not np.allclose(first["joints"], second["joints"])
    np.testing.assert_array_equal(first["joints"], again["joints"])


def test_a_per_frame_model_runs_without_state(tmp_path, demo_perframe_model):
    session = ModelSession(demo_perframe_model, KINDS["seqhand"])
    assert not session.recurrent and session.zero_state() == {}
    out, state = session.step(session.example_inputs(), {})
    assert out["params"].shape == (1, 26) and state == {}


def test_the_engine_streams_a_per_frame_model_too(demo_perframe_model):
    from engine.demo import DEMO_INTRINSICS, render_demo_frame
    from engine.frames import Frame
    from engine.stream import EngineOptions, StreamingEngine

    rgb, depth = render_demo_frame(0.5)
    with StreamingEngine(EngineOptions(model="seqhand", model_path=demo_perframe_model, detector="depth")) as engine:
        a = engine.process(Frame(0, 0.0, rgb, depth, DEMO_INTRINSICS)).hands
        b = engine.process(Frame(1, 0.1, rgb, depth, DEMO_INTRINSICS)).hands
    assert len(a) == len(b) == 1
    np.testing.assert_allclose(a[0].theta, b[0].theta, atol=1e-6)  # no memory: same image, same answer


def test_metadata_that_disagrees_with_the_graph_is_one_line(tiny_cadstn, tmp_path):
    import onnx

    from models.onnx_session import write_metadata

    model = onnx.load(str(tiny_cadstn))
    meta = {p.key: p.value for p in model.metadata_props}
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(tiny_cadstn.read_bytes())
    write_metadata(broken, {**meta, "state_shape": "[1, 7]"})  # the graph's LSTM holds 16
    with pytest.raises(ValueError) as info:
        ModelSession(broken, KINDS["cadstn"])
    message = str(info.value)
    assert "metadata does not fit its graph" in message and "\n" not in message and len(message) < 400
