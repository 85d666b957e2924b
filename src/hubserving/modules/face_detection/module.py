"""The built-in ``face_detection`` module: OpenCV's ResNet-10 SSD face detector served by hubserving."""

from __future__ import annotations

from typing import Any

from hubserving import moduleinfo, serving
from hubserving.modules.bounds import DEFAULT_MAX_IMAGES
from hubserving.vision.arguments import VisionSettings, require_fraction
from hubserving.vision.draw import draw_box
from hubserving.vision.images import DEFAULT_MAX_PIXELS, ImageArray, decode_images
from hubserving.vision.output import Visualizer

from .detector import Face, FaceDetector

NAME = "face_detection"


def face_result(face: Face) -> dict[str, Any]:
    return {
        "label": "face",
        "confidence": face.confidence,
        "left": face.left,
        "top": face.top,
        "right": face.right,
        "bottom": face.bottom,
    }


def annotate(image: ImageArray, faces: list[Face]) -> ImageArray:
    """A copy of the image with each face's box and confidence."""
    annotated = image.copy()
    for face in faces:
        draw_box(annotated, (face.left, face.top, face.right, face.bottom), f"face {face.confidence:.2f}")
    return annotated


@moduleinfo(
    name="face_detection",
    version="1.0.0",
    summary="Face detection: OpenCV's ResNet-10 SSD (300x300) on cv2.dnn",
    author="OpenCV (model)",
    author_email="",
    type="cv/face_detection",
)
class FaceDetection:
    """Finds faces in images.

    ``init_args``: ``num_threads`` (OpenCV threads, default 1), ``max_pixels`` (largest image accepted),
    ``max_images`` (most images a request may hold), ``output_dir`` (also write ``visualization`` images
    there; nothing is written without it).
    """

    def __init__(
        self,
        num_threads: int = 1,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        output_dir: str | None = None,
        max_images: int = DEFAULT_MAX_IMAGES,
    ) -> None:
        self._settings = VisionSettings.from_init_args(NAME, num_threads, max_pixels, output_dir, max_images)
        self._detector = FaceDetector(self._settings.num_threads)
        self._visualizer = Visualizer(NAME, self._settings.output_dir)

    def serving_details(self) -> dict[str, Any]:
        """Shown by ``GET /modules``: the input bounds, by ``init_args`` key."""
        return self._settings.details()

    @serving(input="image", input_arg="images")
    def face_detection(
        self, images: str | list[str], visualization: bool = False, confs_threshold: float = 0.6
    ) -> list[dict[str, Any]]:
        """Per image ``{"data": [{"label": "face", "confidence", "left", "top", "right", "bottom"}, ...]}``,
        most confident first; with ``visualization``, also ``"visualization"``: the boxes drawn, base64 JPEG.
        """
        items = self._settings.image_list(images)
        threshold = require_fraction(NAME, "confs_threshold", confs_threshold)
        results = []
        for image in decode_images(items, self._settings.limits):
            faces = self._detector.detect(image, threshold)
            result: dict[str, Any] = {"data": [face_result(face) for face in faces]}
            if visualization:
                result.update(self._visualizer.publish(annotate(image, faces)))
            results.append(result)
        return results
