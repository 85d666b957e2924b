"""Drawing results onto a copy of the image (boxes, polygons, captions) and encoding it for JSON.

OpenCV's built-in font has ASCII only: captions are numbers and ASCII labels.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import cv2
import numpy as np

from hubserving.vision.images import ImageArray

Color = tuple[int, int, int]  # BGR
GREEN: Color = (0, 200, 0)
RED: Color = (0, 0, 230)
WHITE: Color = (255, 255, 255)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def line_width(image: ImageArray) -> int:
    """A stroke that stays visible on large images: 2 px at 640, 6 px at 2000."""
    return max(2, round(int(max(image.shape[:2])) / 320))


def ascii_text(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


def draw_caption(image: ImageArray, text: str, origin: tuple[int, int], color: Color) -> None:
    """``text`` on a filled label whose bottom-left corner is ``origin`` (kept inside the image)."""
    scale = line_width(image) / 3
    thickness = max(1, line_width(image) // 2)
    (width, height), baseline = cv2.getTextSize(ascii_text(text), FONT, scale, thickness)
    x = min(max(origin[0], 0), max(image.shape[1] - width, 0))
    y = min(max(origin[1], height + baseline), image.shape[0])
    cv2.rectangle(image, (x, y - height - baseline), (x + width, y), color, cv2.FILLED)
    cv2.putText(image, ascii_text(text), (x, y - baseline), FONT, scale, WHITE, thickness, cv2.LINE_AA)


def draw_box(image: ImageArray, box: Sequence[int], caption: str, color: Color = GREEN) -> None:
    """A rectangle ``(left, top, right, bottom)`` with ``caption`` above it."""
    left, top, right, bottom = (int(value) for value in box)
    cv2.rectangle(image, (left, top), (right, bottom), color, line_width(image))
    draw_caption(image, caption, (left, top), color)


def draw_polygon(
    image: ImageArray, points: Sequence[Sequence[float]], caption: str, color: Color = RED
) -> None:
    """A closed polygon (e.g. a text box's four corners) with ``caption`` at its first corner."""
    corners = np.asarray(points, dtype=np.float64).round().astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(image, [corners], True, color, line_width(image))
    draw_caption(image, caption, (int(corners[0, 0, 0]), int(corners[0, 0, 1])), color)


def draw_banner(image: ImageArray, lines: Sequence[str], color: Color = GREEN) -> None:
    """Lines of text stacked in the top-left corner."""
    scale_height = cv2.getTextSize("Ag", FONT, line_width(image) / 3, 1)[0][1]
    for number, text in enumerate(lines, start=1):
        draw_caption(image, text, (0, round(number * scale_height * 1.8)), color)


def encode_jpeg(image: ImageArray, quality: int = 90) -> bytes:
    """JPEG file bytes of a BGR image."""
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"OpenCV could not encode a {image.shape} image as JPEG")
    return bytes(encoded.tobytes())


def to_base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
