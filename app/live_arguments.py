"""The options `handstream run` and `handstream app` share: what to run on, with which model and detector."""
from __future__ import annotations

import argparse
from pathlib import Path

from engine.estimators import MODEL_KINDS


def add_live_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", default="demo",
                        help="demo (default), a webcam index (0), realsense, a video file, a .bag/.db3 "
                             "recording, a recorded session folder, or photos: an image, a folder of images or a "
                             "glob ('shots/*.jpg')")
    parser.add_argument("--model", choices=MODEL_KINDS,
                        help="lifter: the keypoint lifter on MediaPipe's landmarks (colour); seqhand: SeqHAND-Net on "
                             "colour; cadstn: CADSTN on depth (default: cadstn for realsense and .bag/.db3, else "
                             "lifter)")
    parser.add_argument("--model-path", type=Path, metavar="FILE",
                        help="the model's ONNX file (default: the shipped weights/<model>_compact.onnx)")
    parser.add_argument("--detector", choices=("auto", "mediapipe", "depth"), default="auto",
                        help="hand detector (auto: depth segmentation for cadstn and, for seqhand, on the demo; "
                        "else MediaPipe)")
    parser.add_argument("--calibration", type=Path, metavar="FILE",
                        help="camera calibration JSON (handstream calibrate)")
    parser.add_argument("--max-hands", type=int, default=2, help="hands to track (default 2)")
    parser.add_argument("--no-placer", action="store_true",
                        help="cadstn: without the placer beside its file (<stem>_placer.onnx), which moves crops the "
                        "depth detector cut down the arm to the hand")
