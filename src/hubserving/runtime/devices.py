"""GPU cards: which exist here, and which device each worker of a module uses."""

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


def plan_devices(cards: tuple[int, ...], workers_per_card: int) -> tuple[str, ...]:
    """The card each GPU worker sees (``CUDA_VISIBLE_DEVICES``), in worker order: every card once, then again.

    ``--gpu 0,1`` with 2 workers per card: ``("0", "1", "0", "1")``; ``--gpu 0,0``: two workers share card 0.
    """
    return tuple(str(card) for _ in range(workers_per_card) for card in cards)


def device_label(card: str | None) -> str:
    """How ``GET /modules`` and the banner name a worker's device."""
    return "cpu" if card is None else f"gpu:{card}"
