"""GPU cards: which exist here, and which card each worker sees."""

from __future__ import annotations

import shutil
import subprocess

from hubserving.errors import ConfigError


def detect_gpus() -> list[int]:
    """Indices of NVIDIA GPUs that ``nvidia-smi -L`` lists; empty without a driver."""
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return []
    try:
        output = subprocess.run([executable, "-L"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [index for index, line in enumerate(output.stdout.splitlines()) if line.startswith("GPU ")]


def check_cards(requested: tuple[int, ...], available: list[int]) -> None:
    """Fail with what to do when ``--use_gpu`` cannot be honoured here."""
    if not available:
        raise ConfigError(
            "--use_gpu was given but this machine has no NVIDIA GPU (nvidia-smi lists none); "
            "drop --use_gpu to serve on the CPU"
        )
    missing = [card for card in requested if card not in available]
    if missing:
        raise ConfigError(
            f"--gpu asks for card(s) {missing}, but this machine has {available}; choose from those"
        )
