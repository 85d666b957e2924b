"""PP-OCRv4 end to end: find text lines, turn upside-down ones, read each; on onnxruntime.

The pipeline around rapidocr's stages is ours, for three reasons: thresholds per call (PaddleHub's
arguments), detection at the image's own resolution (rapidocr's default scales every image up to a
736 px shorter side: on the shared test images 3 to 18 times slower, and it split off a spurious "F"
before "Hello World"), and recognition one line at a time (see ``Recognizer``).
"""

from __future__ import annotations

from dataclasses import dataclass

from hubserving.vision.images import ImageArray

from .geometry import corner_list
from .stages import Classifier, Detector, Recognizer


@dataclass(frozen=True)
class OcrOptions:
    """The thresholds of one call; the defaults are PaddleHub's ``recognize_text`` ones."""

    box_thresh: float = 0.6  # mean text probability inside a detected box
    text_thresh: float = 0.5  # recognition confidence below which a line is dropped
    angle_thresh: float = 0.9  # direction-classifier confidence needed to turn a line by 180 degrees
    unclip_ratio: float = 1.5  # how far a detected box is grown around its text


@dataclass(frozen=True)
class TextLine:
    """One line read: its text, the recognizer's confidence, its four corners in image pixels."""

    text: str
    confidence: float
    box: list[list[int]]  # top-left, top-right, bottom-right, bottom-left


class OcrPipeline:
    """The three stages, loaded once."""

    def __init__(self, num_threads: int = 1, use_cuda: bool = False) -> None:
        self.detector = Detector(num_threads, use_cuda)
        self.classifier = Classifier(num_threads, use_cuda)
        self.recognizer = Recognizer(num_threads, use_cuda)

    def read(self, image: ImageArray, options: OcrOptions) -> list[TextLine]:
        """The lines of one BGR image in reading order, those read with ``text_thresh`` or more."""
        found = self.detector.detect(image, options.box_thresh, options.unclip_ratio)
        upright = self.classifier.upright(found.crops(), options.angle_thresh)
        readings = [self.recognizer.read(line) for line in upright]
        return [
            TextLine(reading.text, reading.confidence, corner_list(box))
            for box, reading in zip(found.corners(), readings, strict=True)
            if reading.text and reading.confidence >= options.text_thresh
        ]
