"""The built-in ``ocr_system`` module: PaddleOCR's two-stage hubserving service (detection, direction,
recognition), answering as PaddleOCR's ``deploy/hubserving/ocr_system`` does. See docs/paddleocr.md.
"""

from __future__ import annotations

from typing import Any

from hubserving import moduleinfo, serving
from hubserving.modules.bounds import DEFAULT_MAX_IMAGES
from hubserving.ocr.paddleocr import PADDLEOCR_OPTIONS, PaddleOcrSettings, refuse_visualization, system_item
from hubserving.ocr.pipeline import OcrOptions, OcrPipeline
from hubserving.vision.arguments import require_fraction, require_positive
from hubserving.vision.images import DEFAULT_MAX_PIXELS

NAME = "ocr_system"
DEFAULTS = PADDLEOCR_OPTIONS


@moduleinfo(
    name="ocr_system",
    version="1.0.0",
    summary="PaddleOCR's ocr_system service: text detection, direction and recognition (PP-OCRv4)",
    author="PaddlePaddle (models, service); RapidAI (ONNX export)",
    author_email="",
    type="cv/PP-OCR_system",
)
class OCRSystem:
    """Reads the text lines of images; per image a list of ``{"text", "confidence", "text_region"}``.

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
        self._pipeline = OcrPipeline(self._settings.num_threads, self._settings.use_cuda)

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
        cls_thresh: float = DEFAULTS.angle_thresh,
        drop_score: float = DEFAULTS.text_thresh,
    ) -> list[list[dict[str, Any]]]:
        """Per image, its lines in reading order: ``{"text", "confidence", "text_region": [[x, y] x 4]}``.

        The thresholds are the settings of PaddleOCR's ``params.py``, by the same names.
        """
        refuse_visualization(NAME, visualization)
        options = OcrOptions(
            box_thresh=require_fraction(NAME, "det_db_box_thresh", det_db_box_thresh),
            text_thresh=require_fraction(NAME, "drop_score", drop_score),
            angle_thresh=require_fraction(NAME, "cls_thresh", cls_thresh),
            unclip_ratio=require_positive(NAME, "det_db_unclip_ratio", det_db_unclip_ratio),
        )
        return [
            [system_item(line) for line in self._pipeline.read(image, options)]
            for image in self._settings.images(images)
        ]
