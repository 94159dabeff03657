"""Camera geometry — the one copy of camera math in handstream (the engine and models import it).

- ``intrinsics``: :class:`CameraIntrinsics`, the shared description of a camera; ``webcam_intrinsics``, the guess
  for an uncalibrated webcam.
- ``projection``: pinhole projection / back-projection with lens distortion, depth maps to points (numpy only).
- ``undistort``: cached remap tables to undistort whole images.
- ``weak_perspective``: the RGB model's weak-perspective camera → camera-space joints in mm.
- ``board``, ``calibrate``, ``views``: board detection, calibration, live view selection.
- ``storage``: calibration files (JSON with units): ``save_calibration`` / ``load_calibration``.
- ``extrinsics``, ``realsense``: rigid camera-to-camera transforms; RealSense intrinsics in our terms.
"""
