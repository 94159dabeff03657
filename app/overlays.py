"""The camera picture the app shows: colour or colour-mapped depth, with crop boxes, the 2-D skeleton
and handedness drawn on top (QPainter on a QImage, in the GUI thread).

Why QPainter instead of OpenCV drawing: anti-aliased lines and text at no extra cost, and the image
is converted to a QImage anyway to be shown.
"""
from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QColor, QFont, QImage, QPainter, QPen

from engine.frames import Frame
from engine.results import FrameResult
from models.hand.skeleton import KEYPOINT_CHAINS

# MediaPipe 21-keypoint order; each finger drawn in its own colour (thumb .. pinky).
FINGER_COLOURS = [QColor(255, 90, 90), QColor(255, 200, 60), QColor(90, 220, 90), QColor(80, 170, 255),
                  QColor(200, 110, 255)]
HAND_COLOURS = {"right": QColor(0, 220, 255), "left": QColor(255, 120, 0)}
DEPTH_RANGE_MM = (250.0, 1500.0)


def draw_skeleton(p: QPainter, pts: np.ndarray, width: float, radius: float) -> None:
    """The 21 joints (pixels) as one coloured polyline per finger and white dots, with ``p``."""
    for chain, colour in zip(KEYPOINT_CHAINS, FINGER_COLOURS):
        p.setPen(QPen(colour, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        for a, b in zip(chain[:-1], chain[1:]):
            p.drawLine(QPointF(*pts[a]), QPointF(*pts[b]))
    p.setPen(QPen(QColor(20, 20, 20), 1))
    p.setBrush(QColor(255, 255, 255))
    for x, y in pts:
        p.drawEllipse(QPointF(x, y), radius, radius)


def depth_to_rgb(depth: np.ndarray, near_mm: float = DEPTH_RANGE_MM[0],
                 far_mm: float = DEPTH_RANGE_MM[1]) -> np.ndarray:
    """Colour-map depth (uint16 mm) with TURBO, near = red, far = blue; no reading = black."""
    import cv2

    d = depth.astype(np.float32)
    scaled = np.clip((far_mm - d) / (far_mm - near_mm), 0.0, 1.0) * 255.0
    rgb = cv2.applyColorMap(scaled.astype(np.uint8), cv2.COLORMAP_TURBO)[..., ::-1]
    rgb[depth == 0] = 0
    return np.ascontiguousarray(rgb)


def frame_image(frame: Frame, show_depth: bool) -> QImage:
    """The frame as a QImage: colour, or colour-mapped depth when ``show_depth`` (or no colour)."""
    if (show_depth or frame.rgb is None) and frame.depth is not None:
        rgb = depth_to_rgb(frame.depth)
    elif frame.rgb is not None:
        rgb = np.ascontiguousarray(frame.rgb)
    else:
        raise ValueError(f"frame {frame.index} has neither colour nor depth")
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888).copy()


def draw_overlays(image: QImage, result: FrameResult) -> None:
    """Draw every hand's crop box, skeleton and handedness label onto ``image`` in place."""
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont()
    font.setPixelSize(max(12, image.height() // 32))
    font.setBold(True)
    p.setFont(font)
    for hand in result.hands:
        colour = HAND_COLOURS.get(hand.handedness, QColor(255, 255, 255))
        x0, y0, x1, y1 = hand.box
        p.setPen(QPen(colour, 2))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        label = f"{hand.handedness} #{hand.track_id}  {hand.confidence:.2f}"
        p.fillRect(QRectF(x0, y0 - font.pixelSize() - 6, len(label) * font.pixelSize() * 0.62,
                          font.pixelSize() + 6), QColor(0, 0, 0, 150))
        p.drawText(QPointF(x0 + 3, y0 - 4), label)
        pts = np.asarray(hand.joints_2d, np.float64)
        if pts.shape != (21, 2) or not np.all(np.isfinite(pts)):
            continue
        draw_skeleton(p, pts, 3, 3.0)
    p.end()
