"""Everything that runs live: capture, detection, cropping, ONNX Runtime, streaming state, recording.

The live path, module by module:

- ``capture``: a thread per source (``open_source("demo" | "0" | file | "realsense" | .bag/.db3 |
  session folder)``) with a newest-frame queue; ``demo`` is the built-in synthetic hand.
- ``detect_rgb`` (MediaPipe, offline bundle in ``weights/``) and ``detect_depth`` (nearest blobs).
- ``crop``: 2.2x square crops, mirrored for left hands. ``tracks``: identities and per-hand state.
- ``runtime``: ONNX Runtime sessions checked against the streaming model contract.
- ``stream``: ``StreamingEngine(EngineOptions(...)).process(frame) -> FrameResult``, shape lock.
- ``pipeline``: ``Pipeline(source, engine, on_result)`` on a worker thread with live statistics.
- ``bench``: per-stage latency and fps (``handstream bench``). Recording: ``recording``, ``session``.
"""
