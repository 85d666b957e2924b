"""The built-in ``ch_pp-ocrv4`` module: PP-OCRv4 Chinese and English OCR served by hubserving."""

from __future__ import annotations

from typing import Any

from hubserving import moduleinfo, serving
from hubserving.modules.bounds import DEFAULT_MAX_IMAGES
from hubserving.ocr.pipeline import OcrOptions, OcrPipeline, TextLine
from hubserving.vision.arguments import VisionSettings, require_fraction, require_positive
from hubserving.vision.draw import draw_polygon
from hubserving.vision.images import DEFAULT_MAX_PIXELS, ImageArray, decode_images
from hubserving.vision.output import Visualizer

NAME = "ch_pp-ocrv4"


def line_result(line: TextLine) -> dict[str, Any]:
    return {"text": line.text, "confidence": line.confidence, "text_box_position": line.box}


def annotate(image: ImageArray, lines: list[TextLine]) -> ImageArray:
    """A copy of the image with each line's box and its number in ``data`` (OpenCV cannot draw Chinese)."""
    annotated = image.copy()
    for number, line in enumerate(lines, start=1):
        draw_polygon(annotated, line.box, str(number))
    return annotated


@moduleinfo(
    name="ch_pp-ocrv4",
    version="1.0.0",
    summary="PP-OCRv4 text detection, direction and recognition (Chinese and English), on onnxruntime",
    author="PaddlePaddle (models); RapidAI (ONNX export)",
    author_email="",
    type="cv/text_recognition",
)
class ChPPOCRv4:
    """Reads the text lines of images.

    ``init_args``: ``num_threads`` (math threads per network, default 1), ``max_pixels`` (largest image
    accepted), ``max_images`` (most images a request may hold), ``output_dir`` (also write
    ``visualization`` images there; nothing is written without it).
    """

    def __init__(
        self,
        num_threads: int = 1,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        output_dir: str | None = None,
        max_images: int = DEFAULT_MAX_IMAGES,
    ) -> None:
        self._settings = VisionSettings.from_init_args(NAME, num_threads, max_pixels, output_dir, max_images)
        self._pipeline = OcrPipeline(self._settings.num_threads)
        self._visualizer = Visualizer(NAME, self._settings.output_dir)

    def serving_details(self) -> dict[str, Any]:
        """Shown by ``GET /modules``: the input bounds, by ``init_args`` key."""
        return self._settings.details()

    @serving(input="image", input_arg="images")
    def recognize_text(
        self,
        images: str | list[str],
        visualization: bool = False,
        box_thresh: float = 0.6,
        text_thresh: float = 0.5,
        angle_classification_thresh: float = 0.9,
        det_db_unclip_ratio: float = 1.5,
    ) -> list[dict[str, Any]]:
        """Per image ``{"data": [{"text", "confidence", "text_box_position": [[x, y] x 4]}, ...]}``, lines
        in reading order; with ``visualization``, also ``"visualization"``: the boxes drawn, base64 JPEG.
        """
        items = self._settings.image_list(images)
        options = OcrOptions(
            box_thresh=require_fraction(NAME, "box_thresh", box_thresh),
            text_thresh=require_fraction(NAME, "text_thresh", text_thresh),
            angle_thresh=require_fraction(NAME, "angle_classification_thresh", angle_classification_thresh),
            unclip_ratio=require_positive(NAME, "det_db_unclip_ratio", det_db_unclip_ratio),
        )
        results = []
        for image in decode_images(items, self._settings.limits):
            lines = self._pipeline.read(image, options)
            result: dict[str, Any] = {"data": [line_result(line) for line in lines]}
            if visualization:
                result.update(self._visualizer.publish(annotate(image, lines)))
            results.append(result)
        return results
