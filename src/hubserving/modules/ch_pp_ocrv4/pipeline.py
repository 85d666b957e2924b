"""PP-OCRv4: find text lines, turn upside-down ones, read each; on onnxruntime, one math thread.

The three ONNX networks and PaddleOCR's pre- and post-processing of each come from
``rapidocr-onnxruntime`` 1.4 (its stage classes). The pipeline around them is ours, for three reasons:
thresholds per call (PaddleHub's arguments), detection at the image's own resolution (rapidocr's
default scales every image up to a 736 px shorter side: on the shared test images 3 to 18 times slower,
and it split off a spurious "F" before "Hello World"), and recognition one line at a time (on one CPU
thread a batch is slower per line, 39 vs 30 ms, because lines are padded to the widest; alone, a line
reads the same whatever else is in the request).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from hubserving.vision.images import ImageArray

from .geometry import Box, crop_line, fit_for_detection, reading_order

INSTALL_HINT = 'install it with: pip install "hubserving[ocr]"'


@dataclass(frozen=True)
class OcrOptions:
    """PaddleHub's ``recognize_text`` thresholds."""

    box_thresh: float = 0.6  # mean text probability inside a detected box
    text_thresh: float = 0.5  # recognition confidence below which a line is dropped
    angle_thresh: float = 0.9  # direction-classifier confidence needed to turn a line by 180 degrees
    unclip_ratio: float = 1.5  # how far a detected box is grown around its text


@dataclass(frozen=True)
class TextLine:
    """One line read: its text, the recognizer's confidence, its four corners in image pixels."""

    text: str
    confidence: float
    box: list[list[int]]


def model_files() -> dict[str, Path]:
    """The ONNX files shipped in ``rapidocr_onnxruntime/models``."""
    try:
        import rapidocr_onnxruntime
    except ImportError as error:
        raise ImportError(f"ch_pp-ocrv4 needs rapidocr-onnxruntime ({error}); {INSTALL_HINT}") from error
    folder = Path(rapidocr_onnxruntime.__file__).parent / "models"
    files = {
        "det": folder / "ch_PP-OCRv4_det_infer.onnx",
        "cls": folder / "ch_ppocr_mobile_v2.0_cls_infer.onnx",
        "rec": folder / "ch_PP-OCRv4_rec_infer.onnx",
    }
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise ImportError(f"rapidocr-onnxruntime lacks {', '.join(missing)}; reinstall it: {INSTALL_HINT}")
    return files


def stage_configs(files: dict[str, Path], num_threads: int) -> dict[str, dict[str, Any]]:
    """rapidocr's per-stage settings (its config.yaml), with PaddleOCR's detection defaults."""
    common = {"intra_op_num_threads": num_threads, "inter_op_num_threads": num_threads, "use_cuda": False}
    return {
        "det": {
            **common,
            "model_path": str(files["det"]),
            "limit_type": "max",  # own resolution; rapidocr scales a longer side over 2000 px down to 2000
            "mean": [0.5, 0.5, 0.5],
            "std": [0.5, 0.5, 0.5],
            "thresh": 0.3,
            "box_thresh": OcrOptions.box_thresh,
            "max_candidates": 1000,
            "unclip_ratio": OcrOptions.unclip_ratio,
            "use_dilation": False,
            "score_mode": "fast",
        },
        "cls": {
            **common,
            "model_path": str(files["cls"]),
            "cls_image_shape": [3, 48, 192],
            "cls_batch_num": 6,
            "cls_thresh": OcrOptions.angle_thresh,
            "label_list": ["0", "180"],
        },
        "rec": {**common, "model_path": str(files["rec"]), "rec_img_shape": [3, 48, 320], "rec_batch_num": 1},
    }


class OcrPipeline:
    """Loaded networks; ``read`` is serialized (the stages keep their thresholds as attributes)."""

    def __init__(self, num_threads: int = 1) -> None:
        from rapidocr_onnxruntime.ch_ppocr_cls import TextClassifier
        from rapidocr_onnxruntime.ch_ppocr_det import TextDetector
        from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer

        cv2.setNumThreads(num_threads)  # process-wide: resizing and cropping run on OpenCV's pool
        configs = stage_configs(model_files(), num_threads)
        self._detector = TextDetector(configs["det"])
        self._classifier = TextClassifier(configs["cls"])
        self._recognizer = TextRecognizer(configs["rec"])
        self._lock = threading.Lock()

    def read(self, image: ImageArray, options: OcrOptions) -> list[TextLine]:
        """The lines of one BGR image, in reading order."""
        with self._lock:
            boxes, crops = self._detect(image, options)
            if not boxes:
                return []
            self._classifier.cls_thresh = options.angle_thresh
            upright, _, _ = self._classifier(crops)
            readings, _ = self._recognizer(upright)
        return [
            TextLine(str(text), float(score), box.round().astype(int).tolist())
            for box, (text, score) in zip(boxes, readings, strict=True)
            if text and float(score) >= options.text_thresh
        ]

    def _detect(self, image: ImageArray, options: OcrOptions) -> tuple[list[Box], list[ImageArray]]:
        """Line boxes in ``image``'s pixels, in reading order, and each line's upright crop."""
        height, width = image.shape[:2]
        fitted = fit_for_detection(image)
        self._detector.postprocess_op.box_thresh = options.box_thresh
        self._detector.postprocess_op.unclip_ratio = options.unclip_ratio
        found, _ = self._detector(fitted.image)
        if found is None or len(found) == 0:
            return [], []
        boxes = reading_order(list(found))
        crops = [crop_line(fitted.image, box) for box in boxes]
        return [fitted.to_original(box, width, height) for box in boxes], crops
