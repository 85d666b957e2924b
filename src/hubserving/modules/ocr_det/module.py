"""The built-in ``ocr_det`` module: PaddleOCR's text-detection hubserving service, answering as PaddleOCR's
``deploy/hubserving/ocr_det`` does. See docs/paddleocr.md.
"""

from __future__ import annotations

from typing import Any

from hubserving import moduleinfo, serving
from hubserving.modules.bounds import DEFAULT_MAX_IMAGES
from hubserving.ocr.paddleocr import PADDLEOCR_OPTIONS, PaddleOcrSettings, refuse_visualization, region_item
from hubserving.ocr.stages import Detector
from hubserving.vision.arguments import require_fraction, require_positive
from hubserving.vision.images import DEFAULT_MAX_PIXELS

NAME = "ocr_det"
DEFAULTS = PADDLEOCR_OPTIONS


@moduleinfo(
    name="ocr_det",
    version="1.0.0",
    summary="PaddleOCR's ocr_det service: text-line detection (PP-OCRv4 DB, onnxruntime)",
    author="PaddlePaddle (models, service); RapidAI (ONNX export)",
    author_email="",
    type="cv/text_detection",
)
class OCRDet:
    """Finds the text lines of images; per image a list of ``{"text_region": [[x, y] x 4]}``.

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
        self._detector = Detector(self._settings.num_threads, self._settings.use_cuda)

    def serving_details(self) -> dict[str, Any]:
        """Shown by ``GET /modules``: the input bounds, by ``init_args`` key."""
        return self._settings.details()

    @serving(input="image", input_arg="images")
    def serving_method(
        self,
        images: str | list[str],
        visualization: bool = False,
        det_db_box_thresh: float = DEFAULTS.box_thresh,
        det_db_unclip_ratio: float = DEFAULTS.unclip_ratio,
    ) -> list[list[dict[str, Any]]]:
        """Per image, its lines' corners in reading order: ``{"text_region": [[x, y] x 4]}``."""
        refuse_visualization(NAME, visualization)
        box_thresh = require_fraction(NAME, "det_db_box_thresh", det_db_box_thresh)
        unclip_ratio = require_positive(NAME, "det_db_unclip_ratio", det_db_unclip_ratio)
        return [
            [region_item(box) for box in self._detector.detect(image, box_thresh, unclip_ratio).corners()]
            for image in self._settings.images(images)
        ]
