"""The one rule between V2 tensors and serving-method arguments, on module descriptions alone."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest

from hubserving.module.decorators import ModuleInfo
from hubserving.module.signature import Parameter
from hubserving.runtime.messages import ModuleDescription
from hubserving.v2 import codec
from hubserving.v2.errors import V2Error
from hubserving.v2.messages import InferRequest
from hubserving.v2.tensors import Tensor, from_json, from_raw, join_bytes, split_bytes, to_raw

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00 not really a photo"


def classifier() -> ModuleDescription:
    """A CV module as the worker describes it: images in, one result per image."""
    return ModuleDescription(
        name="classifier",
        info=ModuleInfo("classifier", "0.3.0", type="cv/classification"),
        method="classification",
        parameters=(
            Parameter("images", required=True, type="str | list[str]"),
            Parameter("top_k", 1, type="int"),
            Parameter("threshold", 0.5, type="float"),
            Parameter("options", None, type="dict[str, Any] | None"),
            Parameter("legacy", 3),
        ),
        predict_args={},
        batch_arg="images",
        max_batch_size=8,
        input_kind="image",
        input_arg="images",
        aliases={"image": "images"},
    )


def bytes_tensor(name: str, elements: list[bytes], shape: list[int] | None = None) -> Tensor:
    array = np.empty(len(elements), dtype=object)
    array[:] = elements
    return Tensor(name, "BYTES", array.reshape(shape or [len(elements)]))


def body(description: ModuleDescription, *inputs: Tensor, **parameters: Any) -> dict[str, Any]:
    request = InferRequest(description.name, inputs, parameters=parameters)
    decoded: dict[str, Any] = json.loads(codec.request_body(description, request))
    return decoded


def test_image_files_become_base64_and_base64_text_stays() -> None:
    as_text = base64.b64encode(JPEG)
    sent = body(classifier(), bytes_tensor("images", [JPEG, as_text, b"data:image/png;base64," + as_text]))
    assert sent["images"][0] == as_text.decode() == sent["images"][1]
    assert sent["images"][2].startswith("data:image/png;base64,")
    assert body(classifier(), bytes_tensor("image", [JPEG], [1, 1]))["image"] == [as_text.decode()]


def test_scalars_json_documents_and_arguments_without_hints() -> None:
    top_k = Tensor("top_k", "INT64", np.array([5]))
    options = bytes_tensor("options", [b'{"crop": true}'])
    legacy = Tensor("legacy", "INT32", np.array([[7]], dtype=np.int32))
    sent = body(classifier(), top_k, options, legacy, threshold=0.25, binary_data_output=True)
    assert sent == {"top_k": 5, "options": {"crop": True}, "legacy": 7, "threshold": 0.25}
    with pytest.raises(V2Error, match="not a JSON document"):
        body(classifier(), bytes_tensor("options", [b"{oops"]))


def test_metadata_of_a_module_follows_its_hints() -> None:
    metadata = codec.metadata(classifier())
    assert [(t.name, t.datatype, t.shape) for t in metadata.inputs] == [
        ("images", "BYTES", (-1,)),
        ("top_k", "INT64", (1,)),
        ("threshold", "FP64", (1,)),
        ("options", "BYTES", (1,)),
        ("legacy", "INT64", (1,)),
    ]
    assert metadata.platform == "hubserving_classifier" and metadata.versions == ("0.3.0",)


def test_results_are_one_json_document_per_item() -> None:
    listed = codec.results_tensor([{"label": "猫"}, {"label": "dog"}])
    assert listed.shape == [2] and json.loads(listed.values[0]) == {"label": "猫"}
    assert "猫".encode() in listed.values[0]  # UTF-8, not \\u escapes
    single = codec.results_tensor({"answer": 42})
    assert single.shape == [1] and json.loads(single.values[0]) == {"answer": 42}


def test_raw_and_json_tensors_round_trip() -> None:
    values = np.arange(6, dtype=np.float16).reshape(2, 3)
    tensor = from_raw("x", "FP16", [2, 3], to_raw(Tensor("x", "FP16", values)))
    assert tensor.values.dtype == np.float16 and tensor.values.tolist() == values.tolist()
    assert split_bytes("t", join_bytes([b"", "今天".encode(), b"\x00\xff"])) == [
        b"",
        "今天".encode(),
        b"\x00\xff",
    ]
    assert from_json("b", "BOOL", [2], [True, False]).values.tolist() == [True, False]
    with pytest.raises(V2Error, match="true/false"):
        from_json("b", "BOOL", [1], [1])
    with pytest.raises(V2Error, match="out of the range"):
        from_json("u", "UINT8", [1], [256])
    with pytest.raises(V2Error, match="too large"):
        from_json("z", "FP32", [0, 2**40, 2], [])
    with pytest.raises(V2Error, match="ends inside"):
        from_raw("t", "BYTES", [1], b"\x05\x00")
