"""What PaddleOCR's hubserving modules (its ``deploy/hubserving/ocr_*/module.py``) take and answer, shared
by the built-in ``ocr_system``, ``ocr_det``, ``ocr_rec`` and ``ocr_cls``.

- ``init_args``: PaddleOCR's ``use_gpu`` and ``enable_mkldnn`` (a Paddle Inference switch: accepted, and
  without effect on onnxruntime), and the image modules' ``num_threads``, ``max_pixels``, ``max_images``.
- Request: ``images``, base64 image files. ``visualization`` is taken because PaddleOCR's older config
  files pass ``"visualization": false`` in ``predict_args``; PaddleOCR's answer has no room for a picture.
- Items: ``{"text", "confidence", "text_region"}`` (ocr_system), ``{"text_region"}`` (ocr_det),
  ``{"text", "confidence"}`` (ocr_rec), ``{"angle", "confidence"}`` (ocr_cls); ``text_region`` is the
  four corners ``[[x, y], ...]`` in pixels, integers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hubserving.errors import RequestError
from hubserving.vision.arguments import VisionSettings
from hubserving.vision.images import ImageArray, decode_images

from .geometry import Box, corner_list
from .gpu import use_cuda
from .pipeline import OcrOptions, TextLine
from .stages import Direction, Reading

VERSION = "1.0.0"  # what PaddleOCR's four modules declare, and what its config files pin
# PaddleOCR's deploy/hubserving/ocr_system/params.py, which ocr_det reads too: det_db_box_thresh,
# drop_score, cls_thresh, det_db_unclip_ratio.
PADDLEOCR_OPTIONS = OcrOptions(box_thresh=0.5, text_thresh=0.5, angle_thresh=0.9, unclip_ratio=1.6)
MAX_LINE_RATIO = 200  # ocr_rec: a line image this many times wider than tall would take gigabytes to read


def init_flag(module: str, name: str, value: object) -> bool:
    """An ``init_args`` value that must be true or false (not the string "false")."""
    if not isinstance(value, bool):
        raise ValueError(f"{module}: init_args {name} must be true or false, got {value!r}")
    return value


@dataclass(frozen=True)
class PaddleOcrSettings:
    """The ``init_args`` of the four modules, checked once when one loads."""

    vision: VisionSettings
    use_cuda: bool

    @classmethod
    def from_init_args(
        cls, module: str, use_gpu: object, enable_mkldnn: object, num_threads: object, **bounds: object
    ) -> PaddleOcrSettings:
        """Check the values a config file gave (``bounds``: ``max_pixels``, ``max_images``)."""
        init_flag(module, "enable_mkldnn", enable_mkldnn)
        vision = VisionSettings.from_init_args(module, num_threads, **bounds)
        return cls(vision, use_cuda(module, init_flag(module, "use_gpu", use_gpu)))

    @property
    def num_threads(self) -> int:
        return self.vision.num_threads

    def images(self, images: str | list[str]) -> Iterator[ImageArray]:
        """The request's images (one string is a list of one), within the bounds, decoded one at a time."""
        return decode_images(self.vision.image_list(images), self.vision.limits)

    def details(self) -> dict[str, object]:
        """What ``GET /modules`` shows: the input bounds, by ``init_args`` key."""
        return self.vision.details()


def refuse_visualization(module: str, visualization: bool) -> None:
    """``visualization`` may only be false: PaddleOCR's items leave no place for a picture."""
    if visualization:
        raise RequestError(
            f"{module}: visualization is not available: PaddleOCR's answer (a list of items per image) has "
            "no place for a picture. Leave it false and draw text_region yourself (the server's web page "
            "draws them), or use ch_pp-ocrv4, whose visualization returns one"
        )


def check_line(module: str, index: int, line: ImageArray) -> ImageArray:
    """Refuse a line image too long for its height to read (ocr_rec widens its input to the line's shape)."""
    height, width = line.shape[:2]
    if width > height * MAX_LINE_RATIO:
        raise RequestError(
            f"{module}: images[{index}] is {width}x{height} pixels, more than {MAX_LINE_RATIO} times as wide "
            "as it is tall; send one text line per image, or the whole page to ocr_system"
        )
    return line


def system_item(line: TextLine) -> dict[str, Any]:
    return {"text": line.text, "confidence": line.confidence, "text_region": line.box}


def region_item(box: Box) -> dict[str, Any]:
    return {"text_region": corner_list(box)}


def reading_item(reading: Reading) -> dict[str, Any]:
    return {"text": reading.text, "confidence": reading.confidence}


def direction_item(direction: Direction) -> dict[str, Any]:
    return {"angle": direction.angle, "confidence": direction.confidence}
