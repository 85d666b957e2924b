"""Image geometry around the networks: fitting an image for detection, reading order, cropping lines.

Ports of PaddleOCR's ``sorted_boxes`` and ``get_rotate_crop_image`` and of rapidocr's padding of
short images, with the same behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from hubserving.vision.images import ImageArray

Box = npt.NDArray[np.float32]  # 4 x 2 corners: top-left, top-right, bottom-right, bottom-left

MIN_SIDE = 30  # smaller images are scaled up first
MIN_HEIGHT = 30  # images this short, or wider than MAX_WIDTH_RATIO, are padded above and below
MAX_WIDTH_RATIO = 8
SAME_LINE_PX = 10  # boxes whose tops differ by less are on one line: read left to right


@dataclass(frozen=True)
class Fitted:
    """An image made ready for detection, and how to map its coordinates back."""

    image: ImageArray
    scale: float
    pad_top: int

    def to_original(self, box: Box, width: int, height: int) -> Box:
        """Corners in the original image's pixels, clipped to it."""
        original = (box - np.array([0, self.pad_top], dtype=np.float32)) / self.scale
        original[:, 0] = np.clip(original[:, 0], 0, width)
        original[:, 1] = np.clip(original[:, 1], 0, height)
        return original


def fit_for_detection(image: ImageArray) -> Fitted:
    """Scale up a tiny image, and pad a short or very wide one (one line of text) with black above and
    below: the detector finds lines poorly when they touch the image's edges.
    """
    height, width = image.shape[:2]
    scale = 1.0
    if min(height, width) < MIN_SIDE:
        scale = MIN_SIDE / min(height, width)
        image = np.asarray(cv2.resize(image, (round(width * scale), round(height * scale))), dtype=np.uint8)
        height, width = image.shape[:2]
    pad_top = 0
    if height <= MIN_HEIGHT or width / height > MAX_WIDTH_RATIO:
        target_height = max(int(width / MAX_WIDTH_RATIO), MIN_HEIGHT) * 2
        pad_top = abs(target_height - height) // 2
        bordered = cv2.copyMakeBorder(image, pad_top, pad_top, 0, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        image = np.asarray(bordered, dtype=np.uint8)
    return Fitted(image, scale, pad_top)


def reading_order(boxes: list[Box]) -> list[Box]:
    """Top to bottom; boxes on one line (tops within ``SAME_LINE_PX``) left to right."""
    ordered = sorted(boxes, key=lambda box: (float(box[0][1]), float(box[0][0])))
    for index in range(len(ordered) - 1):
        for back in range(index, -1, -1):
            upper, lower = ordered[back], ordered[back + 1]
            if abs(lower[0][1] - upper[0][1]) < SAME_LINE_PX and lower[0][0] < upper[0][0]:
                ordered[back], ordered[back + 1] = lower, upper
            else:
                break
    return ordered


def corner_list(box: Box) -> list[list[int]]:
    """The four corners as JSON-ready integer pairs (rounded to the nearest pixel)."""
    corners: list[list[int]] = box.round().astype(int).tolist()
    return corners


def crop_line(image: ImageArray, box: Box) -> ImageArray:
    """The quadrilateral ``box`` warped to an upright rectangle; a tall one is turned on its side."""
    width = int(max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[2] - box[3])))
    height = int(max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2])))
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(box.astype(np.float32), target)
    crop = cv2.warpPerspective(
        image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC
    )
    if crop.shape[0] >= crop.shape[1] * 1.5:
        crop = np.rot90(crop)
    return np.ascontiguousarray(crop)
