"""MediaPipe's landmark network in fp16 against fp32 on the same crops of the real photos (evaluation only).

    python docs/checks/mediapipe_fp16.py [--root ../shared/data/real-hands]

For every photo of the real-hands check in which MediaPipe's HandLandmarker finds a hand, the crop its tracking
would take next (from its landmarks) goes through the landmark network in both precisions; prints how far apart
the landmarks, metric landmarks, presence and handedness are, and how often the finger states differ.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from engine.real_hands import REAL_HANDS_DIR, digit_photos, hands_photos, load_photo
from models.finger_states import finger_states
from models.mediapipe_hands import MediaPipeHands
from models.mediapipe_landmarks import LandmarkNetwork, roi_from_landmarks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REAL_HANDS_DIR)
    root = parser.parse_args().root
    finder = MediaPipeHands(max_hands=1, stills=True)
    fp32, fp16 = LandmarkNetwork(fp16=False), LandmarkNetwork(fp16=True)
    px, mm, presence, handedness, states = [], [], [], 0, 0
    for photo in digit_photos(root) + hands_photos(root):
        rgb = load_photo(photo)
        found = finder.detect(rgb)
        if not found:
            continue
        roi = roi_from_landmarks(found[0].landmarks)
        (a, pa), (b, pb) = fp32.run(rgb, roi), fp16.run(rgb, roi)
        px.append(np.linalg.norm(a.landmarks - b.landmarks, axis=1).mean())
        mm.append(np.abs(a.world - b.world).mean() * 1000.0)
        presence.append(abs(pa - pb))
        handedness += a.handedness != b.handedness
        states += finger_states(a.world).pattern() != finger_states(b.world).pattern()
    finder.close()
    print(f"{len(px)} photos, landmark network fp16 ({fp16.precision} here) against fp32 on the same crops:")
    print(f"  landmarks {np.mean(px):.3f} px apart (p95 {np.percentile(px, 95):.3f}), metric landmarks "
          f"{np.mean(mm):.3f} mm (p95 {np.percentile(mm, 95):.3f}), presence at most {np.max(presence):.4f} apart")
    print(f"  handedness different in {handedness}, finger states of the metric landmarks different in {states}")


if __name__ == "__main__":
    main()
