"""Calibration boards: parsing their description, their 3-D corner layout and finding them in images.

Two kinds are supported, written as on the command line:

- ``checkerboard:COLSxROWS:SQUAREmm`` — COLS x ROWS *inner* corners (OpenCV's pattern size, so a
  9x6 board has 10 x 7 squares), found with ``cv2.findChessboardCornersSB`` (sub-pixel accurate,
  robust to blur and lighting; the whole board must be visible).
- ``charuco:COLSxROWS:SQUAREmm:MARKERmm[:DICT]`` — COLS x ROWS *squares* with ArUco markers in the
  white squares (default dictionary ``DICT_5X5_100``); partial views still count because every
  corner is identified by its neighbouring markers.

Board coordinates are millimetres on the board plane (z = 0), x along a row, y down the columns,
origin at the first inner corner (checkerboard) or at the board's outer corner (ChArUco,
OpenCV's convention).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

DEFAULT_CHARUCO_DICT = "DICT_5X5_100"
# Fewer identified ChArUco corners than this make a view useless for calibration (and risk collinear points).
MIN_CHARUCO_CORNERS = 6

_SPEC_HELP = "checkerboard:COLSxROWS:SQUAREmm or charuco:COLSxROWS:SQUAREmm:MARKERmm[:DICT]"


@dataclass(frozen=True)
class BoardSpec:
    """A calibration board. ``cols`` x ``rows`` are inner corners for a checkerboard, squares for ChArUco."""

    kind: str  # "checkerboard" or "charuco"
    cols: int
    rows: int
    square_mm: float
    marker_mm: float | None = None
    dictionary: str | None = None

    def __str__(self) -> str:
        text = f"{self.kind}:{self.cols}x{self.rows}:{self.square_mm:g}mm"
        if self.kind == "charuco":
            text += f":{self.marker_mm:g}mm:{self.dictionary}"
        return text

    @property
    def corner_count(self) -> int:
        """Inner corners of the board (all of them must be seen for a checkerboard view)."""
        if self.kind == "checkerboard":
            return self.cols * self.rows
        return (self.cols - 1) * (self.rows - 1)

    def object_points(self) -> np.ndarray:
        """All inner corners in board millimetres (N,3) float32, in the order the detector reports them."""
        if self.kind == "charuco":
            return np.asarray(self.charuco_board().getChessboardCorners(), np.float32).reshape(-1, 3)
        xs, ys = np.meshgrid(np.arange(self.cols), np.arange(self.rows))
        pts = np.stack([xs.ravel(), ys.ravel(), np.zeros(xs.size)], axis=1) * self.square_mm
        return pts.astype(np.float32)

    def charuco_board(self):
        """The OpenCV ``cv2.aruco.CharucoBoard`` of a ChArUco spec."""
        import cv2

        if self.kind != "charuco":
            raise ValueError(f"board {self} is not a ChArUco board")
        dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        return cv2.aruco.CharucoBoard((self.cols, self.rows), float(self.square_mm), float(self.marker_mm),
                                      dictionary)


def _mm(text: str, what: str, spec: str) -> float:
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(mm)?\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"board '{spec}': {what} '{text}' is not a positive length in mm (expected {_SPEC_HELP})")
    return float(match.group(1))


def parse_board(spec: str) -> BoardSpec:
    """``checkerboard:9x6:25mm`` / ``charuco:7x5:30mm:22mm[:DICT_5X5_100]`` → :class:`BoardSpec`."""
    parts = [p.strip() for p in str(spec).strip().split(":")]
    kind = parts[0].lower()
    if kind not in ("checkerboard", "charuco"):
        raise ValueError(f"board '{spec}': unknown kind '{parts[0]}' (expected {_SPEC_HELP})")
    expected = (3,) if kind == "checkerboard" else (4, 5)
    if len(parts) not in expected:
        raise ValueError(f"board '{spec}': wrong number of fields (expected {_SPEC_HELP})")
    size = re.fullmatch(r"(\d+)\s*[xX]\s*(\d+)", parts[1])
    if not size:
        raise ValueError(f"board '{spec}': size '{parts[1]}' is not COLSxROWS (expected {_SPEC_HELP})")
    cols, rows = int(size.group(1)), int(size.group(2))
    square = _mm(parts[2], "square size", spec)
    if kind == "checkerboard":
        if cols < 3 or rows < 3:
            raise ValueError(f"board '{spec}': a checkerboard needs at least 3x3 inner corners")
        return BoardSpec("checkerboard", cols, rows, square)
    if cols < 3 or rows < 3:
        raise ValueError(f"board '{spec}': a ChArUco board needs at least 3x3 squares")
    marker = _mm(parts[3], "marker size", spec)
    if marker >= square:
        raise ValueError(f"board '{spec}': marker size {marker:g} mm must be smaller than the square {square:g} mm")
    dictionary = parts[4].upper() if len(parts) == 5 else DEFAULT_CHARUCO_DICT
    if not dictionary.startswith("DICT_"):
        dictionary = "DICT_" + dictionary
    import cv2

    if not hasattr(cv2.aruco, dictionary):
        raise ValueError(f"board '{spec}': unknown ArUco dictionary '{dictionary}' (e.g. DICT_4X4_50, "
                         "DICT_5X5_100, DICT_6X6_250, DICT_APRILTAG_36h11)")
    markers_needed = (cols * rows) // 2
    size_of_dict = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, dictionary)).bytesList.shape[0]
    if markers_needed > size_of_dict:
        raise ValueError(f"board '{spec}': {markers_needed} markers needed but {dictionary} has only {size_of_dict}")
    return BoardSpec("charuco", cols, rows, square, marker, dictionary)


@dataclass
class BoardDetection:
    """The board corners found in one image: pixels (N,2) and the matching board points (N,3) in mm."""

    image_points: np.ndarray
    object_points: np.ndarray
    image_size: tuple[int, int]  # (width, height)

    @property
    def count(self) -> int:
        return len(self.image_points)


class BoardDetector:
    """Finds one board in images. Built once per board because the ChArUco detector is costly to set up.

    ``accurate`` refines checkerboard corners on an upsampled image: about 3x slower and ~10 % lower
    reprojection error; live previews detect without it and refine only the views they keep.
    """

    def __init__(self, board: BoardSpec, accurate: bool = True) -> None:
        import cv2

        self.board = board
        self.accurate = accurate
        self._charuco = None
        if board.kind == "charuco":
            self._charuco_board = board.charuco_board()
            self._charuco = cv2.aruco.CharucoDetector(self._charuco_board)

    def detect(self, image: np.ndarray) -> BoardDetection | None:
        """The board in an 8-bit grey, RGB or BGR image, or None when it is not (fully enough) visible."""
        import cv2

        image = np.asarray(image)
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[:, :, 0]
        if image.ndim == 3 and image.shape[2] in (3, 4):
            grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY if image.shape[2] == 3 else cv2.COLOR_RGBA2GRAY)
        elif image.ndim == 2:
            grey = image
        else:
            raise ValueError(f"expected a grey or colour image, got an array of shape {image.shape}")
        if grey.dtype != np.uint8:
            raise ValueError(f"expected an 8-bit image, got {grey.dtype}")
        size = (grey.shape[1], grey.shape[0])
        if self._charuco is None:
            flags = cv2.CALIB_CB_NORMALIZE_IMAGE | (cv2.CALIB_CB_ACCURACY if self.accurate else 0)
            found, corners = cv2.findChessboardCornersSB(grey, (self.board.cols, self.board.rows), flags=flags)
            if not found or corners is None or len(corners) != self.board.corner_count:
                return None
            return BoardDetection(corners.reshape(-1, 2).astype(np.float32), self.board.object_points(), size)
        corners, ids, _, _ = self._charuco.detectBoard(grey)
        if corners is None or ids is None or len(corners) < MIN_CHARUCO_CORNERS:
            return None
        obj, img = self._charuco_board.matchImagePoints(corners, ids)
        obj = np.asarray(obj, np.float32).reshape(-1, 3)
        if _collinear(obj):
            return None
        return BoardDetection(np.asarray(img, np.float32).reshape(-1, 2), obj, size)


def _collinear(points: np.ndarray) -> bool:
    """True when board points lie (nearly) on one line: such a view cannot constrain a homography."""
    centred = points[:, :2] - points[:, :2].mean(axis=0)
    singular = np.linalg.svd(centred, compute_uv=False)
    return singular.size < 2 or singular[1] < 1e-6 * max(singular[0], 1e-12)
