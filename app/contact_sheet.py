"""Contact sheets of the real-image check: a grid of photos (or depth frames) with each system's skeleton and
finger states drawn on, right ones framed green, wrong ones red.

Why: a score says how often a model is wrong, a sheet shows how — a skeleton off the hand, a fist read as an
open hand, a thumb always folded. The sample is deterministic (evenly spaced over each set, half right and
half wrong where there are enough of both), so sheets of two models or two runs can be compared tile by tile.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import QColor, QFont, QImage, QPainter, QPen

from app.overlays import draw_skeleton
from engine.real_depth import OPEN_HAND_SEQUENCE, RealDepthReport, load_sr305
from engine.real_hands import DIGITS, HANDS, PhotoPrediction, RealHandsScores, load_photo
from models.finger_states import DIGIT_EXTENDED

CAPTION_PX = 18
HEADER_PX = 24
RIGHT, WRONG, NEUTRAL = QColor(40, 200, 70), QColor(230, 50, 50), QColor(140, 140, 150)
BACKGROUND = QColor(24, 26, 30)
_APP = None  # the QApplication this module had to create, kept alive


def _ensure_qt() -> None:
    """Text needs a Qt application; without a display, the offscreen platform (a QApplication, so a later
    widget in the same process still works)."""
    global _APP
    from PyQt6.QtWidgets import QApplication

    if QApplication.instance() is None:
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _APP = QApplication([])


def _evenly(items: list, count: int) -> list:
    """``count`` items spread evenly over ``items`` (all of them when there are fewer)."""
    if count >= len(items):
        return list(items)
    if count <= 0:
        return []
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, count).round().astype(int)]


def sample_tiles(predictions: list[PhotoPrediction], tiles: int = 36) -> list[PhotoPrediction]:
    """A deterministic sample: two thirds digits, one third HandsDataset (less when a set is short), each set
    half wrong and half right where it can be, in set and label order."""
    sets = {kind: [p for p in predictions if p.photo.kind == kind] for kind in (DIGITS, HANDS)}
    want = {DIGITS: min(len(sets[DIGITS]), tiles - min(len(sets[HANDS]), tiles // 3))}
    want[HANDS] = min(len(sets[HANDS]), tiles - want[DIGITS])
    chosen = []
    for kind, items in sets.items():
        wrong = [p for p in items if not p.right]
        right = [p for p in items if p.right]
        n_wrong = min(len(wrong), max(want[kind] // 2, want[kind] - len(right)))
        picked = _evenly(wrong, n_wrong) + _evenly(right, want[kind] - n_wrong)
        chosen += sorted(picked, key=lambda p: (p.photo.label, p.photo.file))
    return chosen


def _letters(pattern: str) -> str:
    return pattern.replace("·", "") or "none"


def photo_caption(p: PhotoPrediction) -> str:
    """'7: IMP / got IM·P' for a digit (long fingers, what is scored); '3 up / got T·MR· = 3' for HandsDataset."""
    if p.photo.kind == DIGITS:
        truth = DIGIT_EXTENDED[p.photo.label].pattern(thumb=False)
        got = "no hand" if p.states is None else p.states.pattern(thumb=False)
        return f"{p.photo.label}: {_letters(truth)} / got {got}"
    got = "no hand" if p.states is None else f"{p.states.pattern()} = {p.states.count}"
    return f"{p.photo.label} up / got {got}"


def _square_around(points: list[np.ndarray], shape: tuple[int, int], margin: float = 1.4) -> tuple[float, float, float]:
    """Centre x, y and side of a square holding ``points`` with a margin; the whole image when there are none."""
    h, w = shape
    pts = np.concatenate([np.asarray(p, np.float64).reshape(-1, 2) for p in points]) if points else np.zeros((0, 2))
    if len(pts) == 0:
        return w / 2.0, h / 2.0, float(max(w, h))
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    side = max(float((hi - lo).max()) * margin, 48.0)
    return float((lo[0] + hi[0]) / 2), float((lo[1] + hi[1]) / 2), side


def _tile(rgb: np.ndarray, joints_2d: np.ndarray | None, square: tuple[float, float, float], size: int,
          caption: str, border: QColor) -> QImage:
    """One tile: the square cut of ``rgb`` scaled to ``size``, the skeleton, a coloured frame and the caption."""
    import cv2

    cx, cy, side = square
    scale = size / side
    affine = np.array([[scale, 0.0, size / 2 - scale * cx], [0.0, scale, size / 2 - scale * cy]])
    cut = np.ascontiguousarray(cv2.warpAffine(rgb, affine, (size, size), flags=cv2.INTER_AREA,
                                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0)))
    tile = QImage(size, size + CAPTION_PX, QImage.Format.Format_RGB888)
    tile.fill(BACKGROUND)
    p = QPainter(tile)
    p.drawImage(0, 0, QImage(cut.data, size, size, cut.strides[0], QImage.Format.Format_RGB888))
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    if joints_2d is not None and np.all(np.isfinite(joints_2d)):
        draw_skeleton(p, np.asarray(joints_2d, np.float64) * scale + affine[:, 2], 2, 1.8)
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(QPen(border, 4))
    p.drawRect(QRectF(2, 2, size - 4, size - 4))
    font = QFont()
    font.setPixelSize(CAPTION_PX - 6)
    p.setFont(font)
    p.setPen(QColor(235, 235, 235))
    p.drawText(QRectF(3, size, size - 6, CAPTION_PX), Qt.AlignmentFlag.AlignCenter, caption)
    p.end()
    return tile


def _grid(tiles: list[QImage], columns: int, size: int, title: str) -> QImage:
    rows = max(1, -(-len(tiles) // columns))
    sheet = QImage(columns * size, HEADER_PX + rows * (size + CAPTION_PX), QImage.Format.Format_RGB888)
    sheet.fill(BACKGROUND)
    p = QPainter(sheet)
    font = QFont()
    font.setPixelSize(HEADER_PX - 9)
    font.setBold(True)
    p.setFont(font)
    p.setPen(QColor(240, 240, 240))
    p.drawText(QRectF(6, 0, sheet.width() - 12, HEADER_PX), Qt.AlignmentFlag.AlignVCenter, title)
    for k, tile in enumerate(tiles):
        p.drawImage(k % columns * size, HEADER_PX + k // columns * (size + CAPTION_PX), tile)
    p.end()
    return sheet


def _save(sheet: QImage, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    if not sheet.save(str(out), "PNG"):
        raise OSError(f"cannot write contact sheet {out}")
    return out


def photo_sheet(scores: RealHandsScores, out: Path, columns: int = 6, rows: int = 6, tile: int = 160) -> Path:
    """Write one system's photo sheet (``columns`` x ``rows`` tiles of ``tile`` px plus captions) to ``out``."""
    _ensure_qt()
    images = []
    for p in sample_tiles(scores.predictions, columns * rows):
        rgb = load_photo(p.photo)
        if p.photo.kind == DIGITS:  # the whole padded photo: the hand fills its middle
            square = (rgb.shape[1] / 2.0, rgb.shape[0] / 2.0, float(max(rgb.shape[:2])))
        else:  # 800x600 webcam photos: cut around the labelled hand and what was found
            corners = [np.array(p.photo.box, np.float64).reshape(2, 2)]
            if p.joints_2d is not None:
                corners.append(p.joints_2d)
            square = _square_around(corners, rgb.shape[:2])
        images.append(_tile(rgb, p.joints_2d, square, tile, photo_caption(p), RIGHT if p.right else WRONG))
    title = (f"{scores.name}: digits long-finger {100 * scores.digits_long_finger:.1f} %, all-four "
             f"{100 * scores.digits_all_four:.1f} %, HandsDataset count {100 * scores.hands_count:.1f} % "
             f"({scores.found}/{scores.photos} found)")
    return _save(_grid(images, columns, tile, title), out)


def depth_to_grey(depth_mm: np.ndarray, span_mm: float = 500.0) -> np.ndarray:
    """Depth as grey RGB, near bright: ``span_mm`` from the nearest reading; no reading black."""
    valid = depth_mm > 0
    if not np.any(valid):
        return np.zeros((*depth_mm.shape, 3), np.uint8)
    near = float(np.percentile(depth_mm[valid], 1))
    grey = np.clip(255.0 * (1.0 - (depth_mm.astype(np.float32) - near) / span_mm), 40.0, 255.0)
    grey[~valid] = 0
    return np.repeat(grey.astype(np.uint8)[..., None], 3, axis=2)


def depth_sheet(report: RealDepthReport, root: Path, out: Path, columns: int = 5, tile: int = 160) -> Path:
    """Write the depth frames with the model's skeleton: open-hand frames green when all five are extended."""
    _ensure_qt()
    images = []
    for p in report.predictions:
        grey = depth_to_grey(load_sr305(Path(root) / p.file))
        square = _square_around([] if p.box is None else [np.array(p.box).reshape(2, 2)], grey.shape[:2], 1.15)
        got = "no hand" if p.states is None else p.states.pattern()
        caption = f"{p.sequence[-6:]}/{Path(p.file).stem}: {got}"
        if p.sequence == OPEN_HAND_SEQUENCE:
            border = RIGHT if p.states is not None and p.states.count == 5 else WRONG
        else:
            border = NEUTRAL
        images.append(_tile(grey, p.joints_2d, square, tile, caption, border))
    title = (f"{report.model}: open hand ({OPEN_HAND_SEQUENCE}) all five extended in "
             f"{report.open_hand_all_five}/{report.open_hand_frames}; grey frames: another gesture")
    return _save(_grid(images, columns, tile, title), out)
