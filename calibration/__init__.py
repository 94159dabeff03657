"""Camera geometry: intrinsics, calibration, undistortion, projection and back-projection."""
