"""Tests of my_module: load it the way a server worker does, then call its serving method."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubserving import RequestError
from hubserving.module.loader import load_module

HERE = Path(__file__).resolve().parent


def test_counts_words_of_each_text() -> None:
    module = load_module(HERE, {})
    results = module.method(texts=["the cat and the hat", "Hello"], top_k=1)
    assert results == [
        {"chars": 19, "words": 5, "top": [["the", 2]]},
        {"chars": 5, "words": 1, "top": [["hello", 1]]},
    ]


def test_init_args_and_bad_input() -> None:
    module = load_module(HERE, {"lowercase": False})
    assert module.method(texts=["Hello hello"])[0]["top"] == [["Hello", 1], ["hello", 1]]
    with pytest.raises(RequestError, match="argument 'texts' must be list\\[str\\]"):
        module.signature.check({"texts": "not a list"})  # what the server checks before each call
    with pytest.raises(RequestError, match="top_k must be 1 or more"):
        module.method(texts=["a"], top_k=0)
