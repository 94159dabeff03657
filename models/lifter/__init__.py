"""The keypoint lifter: MediaPipe's landmark sequence -> hand-model pose, shape and camera, no image.

Why: a detector trained on real photos (MediaPipe) gives 2-D landmarks, their relative depth and metric
3-D landmarks that transfer to real hands; our renders do not. A small recurrent network trained on millions
of pose sequences with a model of the detector's errors turns them into the open hand model's 45-D pose,
shape β and a weak-perspective camera, steadier than the landmarks themselves (the baseline for a
keypoint-conditioned SeqHAND-Net; see the model card).
"""
