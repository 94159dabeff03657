"""Everything that runs live: capture, detection, cropping, ONNX Runtime, streaming state, recording."""
