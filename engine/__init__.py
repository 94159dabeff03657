"""Everything that runs live: capture, detection, cropping, ONNX Runtime, streaming state, recording.

The live path, module by module:

- ``capture``: the capture thread and newest-frame queue every source shares; the sources one kind per
  module (``opencv_source``, ``realsense_source``, ``demo`` — the built-in synthetic hand — and
  ``session``); ``sources.open_source("demo" | "0" | file | "realsense" | .bag/.db3 | session folder)``.
- ``detect_rgb`` (MediaPipe, offline bundle in ``weights/``) and ``detect_depth`` (nearest blobs).
- ``crop``: 2.2x square crops, mirrored for left hands. ``tracks``: identities and per-hand state.
- ``runtime``: ONNX Runtime sessions checked against each model kind's contract.
- ``estimators``: one module per model kind (``seqhand``, ``cadstn``) behind ``estimators.base.Estimator``;
  ``estimators.KINDS`` lists them.
- ``stream``: ``StreamingEngine(EngineOptions(...)).process(frame) -> FrameResult``, shape lock.
- ``pipeline``: ``Pipeline(source, engine, on_result)`` on a worker thread with live statistics.
- ``bench``: per-stage latency and fps (``handstream bench``); ``evaluate_live``: CADSTN scored through
  its estimator. Recording: ``recording``, ``session``.
"""
