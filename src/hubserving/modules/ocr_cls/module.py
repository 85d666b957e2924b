"""The built-in ``ocr_cls`` module: PaddleOCR's text-direction hubserving service, answering as
PaddleOCR's ``deploy/hubserving/ocr_cls`` does. See docs/paddleocr.md.
"""

from __future__ import annotations

from typing import Any

from hubserving import moduleinfo, serving
from hubserving.modules.bounds import DEFAULT_MAX_IMAGES
from hubserving.ocr.paddleocr import PaddleOcrSettings, direction_item, refuse_visualization
from hubserving.ocr.stages import Classifier
from hubserving.vision.images import DEFAULT_MAX_PIXELS

NAME = "ocr_cls"


@moduleinfo(
    name="ocr_cls",
    version="1.0.0",
    summary="PaddleOCR's ocr_cls service: tells whether text-line images are upside down (onnxruntime)",
    author="PaddlePaddle (models, service); RapidAI (ONNX export)",
    author_email="",
    type="cv/text_angle_cls",
)
class OCRCls:
    """Tells, for images that each hold one text line, whether the line is upright ("0") or not ("180").

    ``init_args``: PaddleOCR's ``use_gpu`` and ``enable_mkldnn``, and ``num_threads``, ``max_pixels``,
    ``max_images`` as for ``ch_pp-ocrv4``.
    """

    def __init__(
        self,
        use_gpu: bool = False,
        enable_mkldnn: bool = False,
        num_threads: int = 1,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_images: int = DEFAULT_MAX_IMAGES,
    ) -> None:
        self._settings = PaddleOcrSettings.from_init_args(
            NAME, use_gpu, enable_mkldnn, num_threads, max_pixels=max_pixels, max_images=max_images
        )
        self._classifier = Classifier(self._settings.num_threads, self._settings.use_cuda)

    def serving_details(self) -> dict[str, Any]:
        """Shown by ``GET /modules``: the input bounds, by ``init_args`` key."""
        return self._settings.details()

    @serving(input="image", input_arg="images")
    def serving_method(
        self, images: str | list[str], visualization: bool = False
    ) -> list[list[dict[str, Any]]]:
        """As PaddleOCR's: one list for the whole request, ``{"angle", "confidence"}`` per image, in order.

        ``angle`` is ``"0"`` (upright) or ``"180"`` (upside down).
        """
        refuse_visualization(NAME, visualization)
        directions = (self._classifier.classify([line])[0] for line in self._settings.images(images))
        return [[direction_item(direction) for direction in directions]]
