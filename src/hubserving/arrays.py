"""Facts about numeric arrays that more than one layer checks (the Open Inference Protocol's tensors,
the exported-model module's inputs)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def fits_integer_type(array: npt.NDArray[Any], target: np.dtype[Any]) -> bool:
    """Whether every value of ``array`` is in the range of the integer type ``target`` (an empty one is)."""
    if not array.size:
        return True
    info = np.iinfo(target)
    return bool(array.min() >= info.min and array.max() <= info.max)
