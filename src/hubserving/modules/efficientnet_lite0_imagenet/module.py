"""The built-in ``efficientnet_lite0_imagenet`` module: ImageNet-1k classification served by hubserving."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from hubserving import moduleinfo, serving
from hubserving.vision.arguments import VisionSettings, image_list, require_bool, require_count
from hubserving.vision.draw import draw_banner
from hubserving.vision.images import DEFAULT_MAX_PIXELS, ImageArray, decode_images
from hubserving.vision.output import Visualizer

from .classifier import Classifier

NAME = "efficientnet_lite0_imagenet"


def top_classes(row: npt.NDArray[np.float32], labels: list[str], top_k: int) -> list[dict[str, Any]]:
    """The ``top_k`` most probable classes, most probable first."""
    best = np.argsort(-row, kind="stable")[:top_k]
    return [{"label": labels[index], "score": float(row[index])} for index in best]


def annotate(image: ImageArray, classes: list[dict[str, Any]]) -> ImageArray:
    """A copy of the image with the top classes written in its corner."""
    annotated = image.copy()
    draw_banner(annotated, [f"{item['label']} {item['score']:.2f}" for item in classes])
    return annotated


@moduleinfo(
    name="efficientnet_lite0_imagenet",
    version="1.0.0",
    summary="Image classification: EfficientNet-Lite0, ImageNet-1k (1000 classes), on torch",
    author="Google (model); ml-illustrated (PyTorch port)",
    author_email="",
    type="cv/classification",
)
class EfficientNetLite0ImageNet:
    """Classifies images into ImageNet's 1000 classes.

    ``init_args``: ``num_threads`` (torch threads, default 1), ``max_pixels`` (largest image accepted),
    ``output_dir`` (also write ``visualization`` images there; nothing is written without it),
    ``use_gpu`` (run on CUDA; ``--use_gpu`` sets it), ``batch_size`` (images per network run; default 1 on
    the CPU, where that is fastest, 32 on a GPU).
    """

    def __init__(
        self,
        num_threads: int = 1,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        output_dir: str | None = None,
        use_gpu: bool = False,
        batch_size: int | None = None,
    ) -> None:
        self._settings = VisionSettings.from_init_args(NAME, num_threads, max_pixels, output_dir)
        if batch_size is not None:
            require_count(NAME, "init_args batch_size", batch_size, 1024)
        self._classifier = Classifier(
            self._settings.num_threads, require_bool(NAME, "use_gpu", use_gpu), batch_size
        )
        self._visualizer = Visualizer(NAME, self._settings.output_dir)

    def serving_details(self) -> dict[str, Any]:
        return {"max_pixels": self._settings.limits.max_pixels, "input": "images: base64 image files"}

    @serving(batch_arg="images", max_batch_size=32)
    def classification(
        self, images: list[str], top_k: int = 1, visualization: bool = False
    ) -> list[dict[str, Any]]:
        """Per image ``{"data": [{"label", "score"}, ...]}``: the ``top_k`` classes, most probable first;
        with ``visualization``, also ``"visualization"``: the image with its classes written, base64 JPEG.
        """
        items = image_list(NAME, images)
        count = require_count(NAME, "top_k", top_k, len(self._classifier.labels))
        draw = require_bool(NAME, "visualization", visualization)
        decoded = decode_images(items, self._settings.limits)
        results = []
        for image, row in zip(decoded, self._classifier.probabilities(decoded), strict=True):
            classes = top_classes(row, self._classifier.labels, count)
            result: dict[str, Any] = {"data": classes}
            if draw:
                result.update(self._visualizer.publish(annotate(image, classes)))
            results.append(result)
        return results
