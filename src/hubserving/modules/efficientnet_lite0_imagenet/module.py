"""The built-in ``efficientnet_lite0_imagenet`` module: ImageNet-1k classification served by hubserving."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from hubserving import moduleinfo, serving
from hubserving.modules.bounds import DEFAULT_MAX_IMAGES, init_count
from hubserving.vision.arguments import VisionSettings, require_count
from hubserving.vision.draw import draw_banner
from hubserving.vision.images import DEFAULT_MAX_PIXELS, ImageArray, decode_images
from hubserving.vision.output import Visualizer

from .classifier import Classifier, preprocess

ItemT = TypeVar("ItemT")

NAME = "efficientnet_lite0_imagenet"


def top_classes(row: npt.NDArray[np.float32], labels: list[str], top_k: int) -> list[dict[str, Any]]:
    """The ``top_k`` most probable classes, most probable first."""
    best = np.argsort(-row, kind="stable")[:top_k]
    return [{"label": labels[index], "score": float(row[index])} for index in best]


def in_batches(items: Iterable[ItemT], size: int) -> Iterator[list[ItemT]]:
    """Consecutive lists of ``size`` items (the last may be shorter), taken as they are asked for."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


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
    ``max_images`` (most images a request may hold),
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
        max_images: int = DEFAULT_MAX_IMAGES,
    ) -> None:
        self._settings = VisionSettings.from_init_args(NAME, num_threads, max_pixels, output_dir, max_images)
        if batch_size is not None:
            init_count(NAME, "batch_size", batch_size, 1024)
        if not isinstance(use_gpu, bool):
            raise ValueError(f"{NAME}: init_args use_gpu must be true or false, got {use_gpu!r}")
        self._classifier = Classifier(self._settings.num_threads, use_gpu, batch_size)
        self._visualizer = Visualizer(NAME, self._settings.output_dir)

    def serving_details(self) -> dict[str, Any]:
        """Shown by ``GET /modules``: the input bounds, by ``init_args`` key."""
        return self._settings.details()

    @serving(batch_arg="images", input="image")
    def classification(
        self, images: str | list[str], top_k: int = 1, visualization: bool = False
    ) -> list[dict[str, Any]]:
        """Per image ``{"data": [{"label", "score"}, ...]}``: the ``top_k`` classes, most probable first;
        with ``visualization``, also ``"visualization"``: the image with its classes written, base64 JPEG.
        """
        items = self._settings.image_list(images)
        count = require_count(NAME, "top_k", top_k, len(self._classifier.labels))
        # Only the network's input is kept for a batch; the decoded image only to draw on.
        prepared = (
            (image if visualization else None, preprocess(image))
            for image in decode_images(items, self._settings.limits)
        )
        results = []
        for batch in in_batches(prepared, self._classifier.batch_size):
            rows = self._classifier.probabilities([inputs for _, inputs in batch])
            for (image, _), row in zip(batch, rows, strict=True):
                results.append(self._result(image, top_classes(row, self._classifier.labels, count)))
        return results

    def _result(self, image: ImageArray | None, classes: list[dict[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {"data": classes}
        if image is not None:
            result.update(self._visualizer.publish(annotate(image, classes)))
        return result
