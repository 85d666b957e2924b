"""The built-in modules' serving methods say what they take: their type hints are what the server checks
each request against (a wrong type is a 400 naming the argument, before the method runs), and
``@serving(input=...)`` says what their input is.
"""

from __future__ import annotations

import importlib
import inspect
import typing
from collections.abc import Callable
from typing import Any

import pytest

from hubserving.module.decorators import SERVING_ATTR, ServingSpec
from hubserving.module.hints import compile_hint

pytest.importorskip("numpy")

# name -> (Python module, class, what @serving says the input is, the argument holding it)
BUILTINS = {
    "lac": ("hubserving.modules.lac.module", "Lac", "text", "texts"),
    "senta_bilstm": ("hubserving.modules.senta_bilstm.module", "SentaBiLSTM", "text", "texts"),
    "ch_pp-ocrv4": ("hubserving.modules.ch_pp_ocrv4.module", "ChPPOCRv4", "image", "images"),
    "face_detection": ("hubserving.modules.face_detection.module", "FaceDetection", "image", "images"),
    "efficientnet_lite0_imagenet": (
        "hubserving.modules.efficientnet_lite0_imagenet.module",
        "EfficientNetLite0ImageNet",
        "image",
        "images",
    ),
    "exported_model": ("hubserving.modules.exported_model.module", "ExportedModel", "json", "inputs"),
    "ocr_system": ("hubserving.modules.ocr_system.module", "OCRSystem", "image", "images"),
    "ocr_det": ("hubserving.modules.ocr_det.module", "OCRDet", "image", "images"),
    "ocr_rec": ("hubserving.modules.ocr_rec.module", "OCRRec", "image", "images"),
    "ocr_cls": ("hubserving.modules.ocr_cls.module", "OCRCls", "image", "images"),
}


def serving_method(name: str) -> tuple[Callable[..., Any], ServingSpec]:
    module_name, class_name = BUILTINS[name][:2]
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except ImportError as error:
        pytest.skip(f"{name} needs {error.name}")
    [method] = [value for value in vars(cls).values() if hasattr(value, SERVING_ATTR)]
    return method, getattr(method, SERVING_ATTR)


def refusal(name: str, argument: str, value: Any) -> str | None:
    """What the server would say of ``value`` for ``argument`` (None: it passes to the method)."""
    method, _ = serving_method(name)
    check = compile_hint(typing.get_type_hints(method)[argument])
    assert check is not None, f"{name}: {argument}'s hint cannot be checked"
    return check(value, argument)


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_every_argument_has_a_hint_the_server_checks(name: str) -> None:
    method, spec = serving_method(name)
    hints = typing.get_type_hints(method)
    parameters = [p for p in inspect.signature(method).parameters if p != "self"]
    assert [p for p in parameters if p not in hints] == []
    assert [p for p in parameters if compile_hint(hints[p]) is None] == []
    assert (spec.input, spec.input_argument) == BUILTINS[name][2:]
    assert spec.input_argument in parameters


@pytest.mark.parametrize(
    ("value", "refused"),
    [("今天", False), (["今天", ""], False), (None, False), (42, True), (["好", None], True), ({}, True)],
)
def test_lac_texts(value: Any, refused: bool) -> None:
    assert (refusal("lac", "texts", value) is not None) == refused


def test_lac_options() -> None:
    assert "return_tag" in (refusal("lac", "return_tag", "false") or "")
    assert refusal("lac", "batch_size", True) is not None and refusal("lac", "batch_size", 8) is None


@pytest.mark.parametrize(
    "name",
    [
        "ch_pp-ocrv4",
        "face_detection",
        "efficientnet_lite0_imagenet",
        "ocr_system",
        "ocr_det",
        "ocr_rec",
        "ocr_cls",
    ],
)
def test_image_modules_take_base64_strings_and_flags(name: str) -> None:
    assert refusal(name, "images", ["aGk=", "aGk="]) is None and refusal(name, "images", "aGk=") is None
    assert (refusal(name, "images", ["aGk=", 42]) or "").startswith("images[1] ")
    assert refusal(name, "visualization", "yes") is not None


def test_thresholds_take_numbers_not_strings() -> None:
    assert refusal("face_detection", "confs_threshold", 1) is None
    assert refusal("face_detection", "confs_threshold", "0.5") is not None
    assert refusal("ch_pp-ocrv4", "box_thresh", True) is not None
    assert refusal("efficientnet_lite0_imagenet", "top_k", 2.5) is not None


def test_senta_and_exported_model() -> None:
    assert refusal("senta_bilstm", "data", {"text": ["好"]}) is None
    assert refusal("senta_bilstm", "data", {"text": "好"}) is not None
    assert refusal("exported_model", "inputs", {"x": [[1.0]]}) is None
    assert refusal("exported_model", "inputs", [[1.0]]) is not None
