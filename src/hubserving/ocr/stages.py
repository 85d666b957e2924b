"""The three PP-OCRv4 stages, each loadable alone: find lines, tell their direction, read them.

The networks and PaddleOCR's pre- and post-processing of each are ``rapidocr-onnxruntime`` 1.4's stage
classes; these wrappers give them plain inputs and outputs and keep per-call thresholds thread-safe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from hubserving.vision.images import ImageArray

from .geometry import Box, Fitted, crop_line, fit_for_detection, reading_order
from .models import Stage, stage_config


@dataclass(frozen=True)
class Detection:
    """The text lines found in one image: boxes in the pixels of the image the detector saw."""

    fitted: Fitted
    boxes: list[Box]  # reading order
    width: int  # of the original image
    height: int

    def corners(self) -> list[Box]:
        """Each box in the original image's pixels, clipped to it."""
        return [self.fitted.to_original(box, self.width, self.height) for box in self.boxes]

    def crops(self) -> list[ImageArray]:
        """Each line cut out and made upright (a tall one turned on its side)."""
        return [crop_line(self.fitted.image, box) for box in self.boxes]


@dataclass(frozen=True)
class Reading:
    """One line image read: its text and the recognizer's confidence (0 to 1)."""

    text: str
    confidence: float


@dataclass(frozen=True)
class Direction:
    """Which way up one line image is: ``"0"`` (upright) or ``"180"``, and the classifier's confidence."""

    angle: str
    confidence: float

    def upside_down(self, threshold: float) -> bool:
        """Whether to turn the line before reading it: "180" with a confidence over ``threshold``."""
        return self.angle == "180" and self.confidence > threshold


def turned(line: ImageArray) -> ImageArray:
    """The image turned by 180 degrees."""
    return np.asarray(cv2.rotate(line, cv2.ROTATE_180), dtype=np.uint8)


def stage_settings(stage: Stage, num_threads: int, use_cuda: bool) -> dict[str, Any]:
    cv2.setNumThreads(num_threads)  # process-wide: resizing and cropping run on OpenCV's pool
    return stage_config(stage, num_threads, use_cuda)


class Detector:
    """DB text-line detection. Calls are serialized: the rapidocr stage keeps its thresholds as attributes."""

    def __init__(self, num_threads: int = 1, use_cuda: bool = False) -> None:
        settings = stage_settings("det", num_threads, use_cuda)  # first: says how to install rapidocr
        from rapidocr_onnxruntime.ch_ppocr_det import TextDetector

        self._network = TextDetector(settings)
        self._lock = threading.Lock()

    def detect(self, image: ImageArray, box_thresh: float, unclip_ratio: float) -> Detection:
        """The lines of one BGR image whose mean text probability reaches ``box_thresh``."""
        height, width = image.shape[:2]
        fitted = fit_for_detection(image)
        with self._lock:
            self._network.postprocess_op.box_thresh = box_thresh
            self._network.postprocess_op.unclip_ratio = unclip_ratio
            found, _ = self._network(fitted.image)
        boxes = reading_order(list(found)) if found is not None and len(found) else []
        return Detection(fitted, boxes, width, height)


class Classifier:
    """The 0 / 180 degree direction classifier of line images."""

    def __init__(self, num_threads: int = 1, use_cuda: bool = False) -> None:
        settings = stage_settings("cls", num_threads, use_cuda)  # first: says how to install rapidocr
        from rapidocr_onnxruntime.ch_ppocr_cls import TextClassifier

        self._network = TextClassifier(settings)

    def classify(self, lines: list[ImageArray]) -> list[Direction]:
        """Each line's direction, in order."""
        if not lines:
            return []
        _, labels, _ = self._network(lines)
        return [Direction(str(angle), float(score)) for angle, score in labels]

    def upright(self, lines: list[ImageArray], threshold: float) -> list[ImageArray]:
        """The lines, those found upside down (confidence over ``threshold``) turned by 180 degrees."""
        directions = self.classify(lines)
        return [
            turned(line) if direction.upside_down(threshold) else line
            for line, direction in zip(lines, directions, strict=True)
        ]


class Recognizer:
    """SVTR-LCNet recognition of line images, one at a time.

    On one CPU thread a batch is slower per line (lines are padded to the widest), and alone a line
    reads the same whatever else is in the request.
    """

    def __init__(self, num_threads: int = 1, use_cuda: bool = False) -> None:
        settings = stage_settings("rec", num_threads, use_cuda)  # first: says how to install rapidocr
        from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer

        self._network = TextRecognizer(settings)

    def read(self, line: ImageArray) -> Reading:
        """The text of one upright line image."""
        [(text, score)], _ = self._network([line])
        return Reading(str(text), float(score))
