"""The built-in ``ocr_rec`` module: PaddleOCR's text-recognition hubserving service, answering as
PaddleOCR's ``deploy/hubserving/ocr_rec`` does. See docs/paddleocr.md.
"""

from __future__ import annotations

from typing import Any

from hubserving import moduleinfo, serving
from hubserving.modules.bounds import DEFAULT_MAX_IMAGES
from hubserving.ocr.paddleocr import PaddleOcrSettings, check_line, reading_item, refuse_visualization
from hubserving.ocr.stages import Recognizer
from hubserving.vision.images import DEFAULT_MAX_PIXELS

NAME = "ocr_rec"


@moduleinfo(
    name="ocr_rec",
    version="1.0.0",
    summary="PaddleOCR's ocr_rec service: reads images of single text lines (PP-OCRv4, onnxruntime)",
    author="PaddlePaddle (models, service); RapidAI (ONNX export)",
    author_email="",
    type="cv/text_recognition",
)
class OCRRec:
    """Reads images that each hold one upright text line.

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
        self._recognizer = Recognizer(self._settings.num_threads, self._settings.use_cuda)

    def serving_details(self) -> dict[str, Any]:
        """Shown by ``GET /modules``: the input bounds, by ``init_args`` key."""
        return self._settings.details()

    @serving(input="image", input_arg="images")
    def serving_method(
        self, images: str | list[str], visualization: bool = False
    ) -> list[list[dict[str, Any]]]:
        """As PaddleOCR's: one list for the whole request, ``{"text", "confidence"}`` per image, in order."""
        refuse_visualization(NAME, visualization)
        lines = (check_line(NAME, index, line) for index, line in enumerate(self._settings.images(images)))
        return [[reading_item(self._recognizer.read(line)) for line in lines]]
