from __future__ import annotations

import numpy as np
import orjson

from hubserving import envelope
from hubserving.errors import Code


def test_success_envelope_matches_the_seed() -> None:
    body = envelope.success([{"word": ["今天"], "tag": ["TIME"]}])
    assert orjson.loads(body) == {"msg": "", "results": [{"word": ["今天"], "tag": ["TIME"]}], "status": "0"}
    assert "今天".encode() in body  # UTF-8, not \\u escapes


def test_numpy_values_become_json() -> None:
    value = {"a": np.arange(3), "b": np.float32(0.5), "c": np.int64(7), "d": np.array([[1.5]])}
    assert orjson.loads(envelope.dumps(value)) == {"a": [0, 1, 2], "b": 0.5, "c": 7, "d": [[1.5]]}


def test_failure_envelope_carries_code_and_message() -> None:
    assert orjson.loads(envelope.failure(Code.MODULE_NOT_AVAILABLE, "Module x is not available.")) == {
        "msg": "Module x is not available.",
        "results": "",
        "status": "111",
    }
