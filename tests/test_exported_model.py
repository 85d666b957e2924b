"""The generic exported_model module, in-process: a tiny ONNX model built here, senta_bilstm's Paddle
export, and (when installed) LAC's pre-Paddle-3 ``__model__`` with sequence (LoD) input.

Each request error must name the input at fault, since that is all a client has to go on.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hubserving.errors import RequestError
from hubserving.modules.exported_model.detect import model_kind

np = pytest.importorskip("numpy")

SENTA_EXPORT = (
    Path(__file__).resolve().parents[1] / "src" / "hubserving" / "modules" / "senta_bilstm" / "model"
)
WEIGHTS = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]


def build_onnx(path: Path) -> None:
    """``y = x @ WEIGHTS``, ``total = sum(x, axis=1) + count``; x [batch, 3] float32, count [batch] int64."""
    onnx = pytest.importorskip("onnx", reason='onnx is not installed: pip install -e ".[test]"')
    helper, tensor_type = onnx.helper, onnx.TensorProto
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "weights"], ["y"]),
            helper.make_node("ReduceSum", ["x", "axes"], ["row_sum"], keepdims=0),
            helper.make_node("Cast", ["count"], ["count_float"], to=tensor_type.FLOAT),
            helper.make_node("Add", ["row_sum", "count_float"], ["total"]),
        ],
        "tiny",
        [
            helper.make_tensor_value_info("x", tensor_type.FLOAT, ["batch", 3]),
            helper.make_tensor_value_info("count", tensor_type.INT64, ["batch"]),
        ],
        [
            helper.make_tensor_value_info("y", tensor_type.FLOAT, ["batch", 2]),
            helper.make_tensor_value_info("total", tensor_type.FLOAT, ["batch"]),
        ],
        initializer=[
            helper.make_tensor("weights", tensor_type.FLOAT, [3, 2], [v for row in WEIGHTS for v in row]),
            helper.make_tensor("axes", tensor_type.INT64, [1], [1]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


@pytest.fixture(scope="module")
def onnx_module(tmp_path_factory: pytest.TempPathFactory) -> Any:
    pytest.importorskip("onnxruntime", reason='onnxruntime is not installed: pip install -e ".[exported]"')
    from hubserving.modules.exported_model.module import ExportedModel

    folder = tmp_path_factory.mktemp("tiny_onnx")
    build_onnx(folder / "tiny.onnx")
    return ExportedModel(str(folder))


@pytest.fixture(scope="module")
def senta_module() -> Any:
    pytest.importorskip("paddle", reason='paddlepaddle is not installed: pip install -e ".[senta]"')
    from hubserving.modules.exported_model.module import ExportedModel

    return ExportedModel(str(SENTA_EXPORT), name="senta_export")


def b64(array: Any) -> dict[str, Any]:
    little = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    return {
        "b64": base64.b64encode(little.tobytes()).decode(),
        "dtype": array.dtype.name,
        "shape": list(array.shape),
    }


def test_onnx_outputs_from_nested_lists_and_base64(onnx_module: Any) -> None:
    x = [[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]]
    outputs = onnx_module.predict({"x": x, "count": [10, 0]})
    assert list(outputs) == ["y", "total"]
    assert outputs["y"].tolist() == [[4.0, 5.0], [-0.5, -1.0]]
    assert outputs["total"].tolist() == [16.0, -0.5]
    again = onnx_module.predict({"x": b64(np.array(x, dtype=np.float32)), "count": b64(np.array([10, 0]))})
    assert again["y"].tolist() == outputs["y"].tolist()
    ints_for_floats = onnx_module.predict({"x": [[1, 2, 3]], "count": [1]})
    assert ints_for_floats["total"].tolist() == [7.0]


@pytest.mark.parametrize(
    ("inputs", "words"),
    [
        ({"x": [[1.0, 2.0, 3.0]]}, ["missing input 'count'"]),
        ({"x": [[1.0, 2.0, 3.0]], "count": [1], "scale": 2}, ["unknown input 'scale'", "'x'"]),
        ({"x": [1.0, 2.0, 3.0], "count": [1]}, ["'x'", "rank 2"]),
        ({"x": [[1.0, 2.0]], "count": [1]}, ["'x'", "dimension 1 must be 3"]),
        ({"x": [[1.0, 2.0, 3.0]], "count": [1.5]}, ["'count'", "int64", "float64"]),
        ({"x": [["a", "b", "c"]], "count": [1]}, ["'x'", "numbers"]),
        ({"x": [[1.0, 2.0, 3.0], [1.0]], "count": [1, 2]}, ["'x'", "rectangular"]),
        ({"x": [[1.0, 2.0, 3.0]], "count": [1, 2]}, ["'count'", "'batch'"]),
        (
            {"x": {"b64": "AAAA", "dtype": "float32", "shape": [1, 3]}, "count": [1]},
            ["'x'", "bytes"],
        ),
        (
            {"x": {"b64": "!!", "dtype": "float32", "shape": [1, 3]}, "count": [1]},
            ["'x'", "base64"],
        ),
        ({"x": {"b64": "", "dtype": "pixels", "shape": [0, 3]}, "count": [1]}, ["'x'", "dtype"]),
        ({"x": {"b64": "", "dtype": "object", "shape": [0, 3]}, "count": [1]}, ["'x'", "numeric"]),
        ({"x": {"values": [1]}, "count": [1]}, ["'x'", "b64"]),
        ({"x": {"b64": "", "dtype": {"kind": "f"}, "shape": [0, 3]}, "count": [1]}, ["'x'", "dtype"]),
        ({"x": {"b64": 3, "dtype": "float32", "shape": [1, 3]}, "count": [1]}, ["'x'", "base64"]),
    ],
)
def test_onnx_signature_errors_name_the_input(onnx_module: Any, inputs: Any, words: list[str]) -> None:
    """A request the model cannot take is a ``RequestError`` (400); that ``inputs`` is an object at all
    is the server's check, from ``predict``'s type hint."""
    with pytest.raises(RequestError) as raised:
        onnx_module.predict(inputs)
    for word in words:
        assert word in str(raised.value)


def test_onnx_serving_details(onnx_module: Any) -> None:
    details = onnx_module.serving_details()
    assert details["format"] == "onnx" and details["model_file"] == "tiny.onnx"
    assert details["inputs"] == [
        {"name": "x", "shape": ["batch", 3], "dtype": "float32"},
        {"name": "count", "shape": ["batch"], "dtype": "int64"},
    ]
    assert details["outputs"] == [
        {"name": "y", "shape": ["batch", 2], "dtype": "float32"},
        {"name": "total", "shape": ["batch"], "dtype": "float32"},
    ]


def test_senta_paddle_export(senta_module: Any) -> None:
    from hubserving.modules.senta_bilstm.text import VOCAB_FILE, Vocab

    vocab = Vocab.load(SENTA_EXPORT / VOCAB_FILE)
    good, bad = (vocab.encode(text) for text in ["这家餐厅很好吃", "这部电影真的很差劲"])
    inputs = {"ids": [good + [0] * (len(bad) - len(good)), bad], "lengths": [len(good), len(bad)]}
    [probs] = senta_module.predict(inputs).values()
    assert probs.shape == (2, 2) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert probs[0, 1] > 0.5 > probs[1, 1]
    as_bytes = senta_module.predict({"ids": b64(np.array([good])), "lengths": b64(np.array([len(good)]))})
    assert np.allclose(as_bytes["fetch_name_0"][0], probs[0], atol=1e-6)
    details = senta_module.serving_details()
    assert details["name"] == "senta_export" and details["format"] == "paddle"
    assert details["model_file"] == "inference.json"
    assert details["inputs"] == [
        {"name": "ids", "shape": [-1, -1], "dtype": "int64"},
        {"name": "lengths", "shape": [-1], "dtype": "int64"},
    ]
    assert details["outputs"] == [{"name": "fetch_name_0", "shape": [-1, 2], "dtype": "float32"}]


@pytest.mark.parametrize(
    ("inputs", "words"),
    [
        ({"ids": [[5]]}, ["missing input 'lengths'"]),
        ({"ids": [[5]], "lengths": [1], "mask": [[1]]}, ["unknown input 'mask'"]),
        ({"ids": [5], "lengths": [1]}, ["'ids'", "rank 2"]),
        ({"ids": [[0.5]], "lengths": [1]}, ["'ids'", "int64"]),
        ({"ids": [[5]], "lengths": [[1]]}, ["'lengths'", "rank 1"]),
        ({"ids": [[5]], "lengths": [2**70]}, ["'lengths'"]),
        ({"ids": [[]], "lengths": [0]}, ["'ids'", "no elements"]),
    ],
)
def test_senta_signature_errors_name_the_input(senta_module: Any, inputs: Any, words: list[str]) -> None:
    with pytest.raises(RequestError) as raised:
        senta_module.predict(inputs)
    for word in words:
        assert word in str(raised.value)


HOSTILE_VALUES = """
import sys
from hubserving.modules.exported_model.module import ExportedModel

model = ExportedModel(sys.argv[1])
for inputs in ({"ids": [[5, 6, 7]], "lengths": [100]}, {"ids": [[5, 6, 7]], "lengths": [-4]},
               {"ids": [[10**9, -5, 7]], "lengths": [3]}):
    [probs] = model.predict(inputs).values()
    assert abs(float(probs.sum()) - 1.0) < 1e-5, probs
print("ok")
"""


def test_senta_export_survives_hostile_values() -> None:
    """Out-of-range ids and lengths are clamped inside the exported graph: Paddle's kernels do not check
    them, and a length past the end used to corrupt memory and kill the process (so: a subprocess)."""
    pytest.importorskip("paddle", reason='paddlepaddle is not installed: pip install -e ".[senta]"')
    command = [sys.executable, "-c", HOSTILE_VALUES, str(SENTA_EXPORT)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


PADDLE2_EXPORT = """
import sys, paddle
paddle.enable_static()
x = paddle.static.data("x", [None, 3], "float32")
y = paddle.static.nn.fc(x, 2, weight_attr=paddle.nn.initializer.Constant(1.0))
executor = paddle.static.Executor(paddle.CPUPlace())
executor.run(paddle.static.default_startup_program())
paddle.static.save_inference_model(sys.argv[1], [x], [y], executor)
"""


def test_paddle2_pdmodel(tmp_path: Path) -> None:
    """``<name>.pdmodel`` + ``.pdiparams``, as Paddle 2 (or Paddle 3 with PIR off) writes them."""
    pytest.importorskip("paddle", reason='paddlepaddle is not installed: pip install -e ".[senta]"')
    from hubserving.modules.exported_model.module import ExportedModel

    environment = {**os.environ, "FLAGS_enable_pir_api": "0"}
    command = [sys.executable, "-c", PADDLE2_EXPORT, str(tmp_path / "linear")]
    subprocess.run(command, env=environment, capture_output=True, timeout=120, check=True)
    module = ExportedModel(str(tmp_path))
    details = module.serving_details()
    assert details["model_file"] == "linear.pdmodel"
    assert details["inputs"] == [{"name": "x", "shape": [-1, 3], "dtype": "float32"}]
    [(name, output)] = module.predict({"x": [[1, 2, 3]]}).items()
    assert details["outputs"] == [{"name": name, "shape": [-1, 2], "dtype": "float32"}]
    assert output.tolist() == [[6.0, 6.0]]
    with pytest.raises(RequestError, match="input 'x': dimension 1 must be 3"):
        module.predict({"x": [[1, 2]]})


def test_legacy_paddle_model_with_sequence_input() -> None:
    """LAC's ``__model__`` (saved by Paddle 1.x): LoD offsets come with the data."""
    pytest.importorskip("paddle", reason='paddlepaddle is not installed: pip install -e ".[senta]"')
    from hubserving.modules.exported_model.module import ExportedModel
    from hubserving.modules.lac.assets import LacNotInstalled, find_lac_assets

    try:
        folder = find_lac_assets().model_dir
    except LacNotInstalled as error:
        pytest.skip(str(error))
    module = ExportedModel(str(folder))
    details = module.serving_details()
    assert details["model_file"] == "__model__" and details["sequence_inputs"] == ["words"]
    assert details["inputs"] == [{"name": "words", "shape": [-1, 1], "dtype": "int64"}]
    [tags] = module.predict({"words": {"data": [[1], [2], [3]], "lod": [[0, 2, 3]]}}).values()
    assert tags.shape == (3, 1)
    # The program declares its CRF path float32; it is int64, and so is what is served.
    assert [output["dtype"] for output in details["outputs"]] == [str(tags.dtype)] == ["int64"]
    with pytest.raises(RequestError, match="'words' is a sequence input"):
        module.predict({"words": [[1], [2]]})
    with pytest.raises(RequestError, match="'words': lod offsets"):
        module.predict({"words": {"data": [[1], [2]], "lod": [[0, 3]]}})
    with pytest.raises(RequestError, match="'words': a sequence input"):
        module.predict({"words": {"data": 1, "lod": [[0, 1]]}})


def test_model_kind_from_file_names(tmp_path: Path) -> None:
    def folder(name: str, *files: str) -> Path:
        path = tmp_path / name
        path.mkdir()
        for file in files:
            (path / file).write_bytes(b"")
        return path

    assert model_kind(folder("pir", "inference.json", "inference.pdiparams", "vocab.txt")) == "paddle"
    assert model_kind(folder("pdmodel", "model.pdmodel", "model.pdiparams")) == "paddle"
    assert model_kind(folder("legacy", "__model__", "fc_0.w_0")) == "paddle"
    assert model_kind(folder("onnx", "model.onnx", "README.md")) == "onnx"
    assert model_kind(folder("config_only", "config.json", "weights.bin")) is None
    assert model_kind(folder("empty")) is None
    assert model_kind(tmp_path / "missing") is None
    assert model_kind(SENTA_EXPORT) == "paddle"


def test_detect_imports_no_numpy_or_framework() -> None:
    """The finder runs in the front process, which must not load numpy, paddle or onnxruntime."""
    code = (
        "import sys; from hubserving.modules.exported_model.detect import model_kind; "
        "print(sorted(m for m in ('numpy', 'paddle', 'onnxruntime') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_folder_without_a_model_says_what_it_expected(tmp_path: Path) -> None:
    from hubserving.modules.exported_model.runtime import NoModelFound, open_model

    with pytest.raises(NoModelFound, match=r"\.pdiparams.*\.onnx"):
        open_model(tmp_path)
    (tmp_path / "a.onnx").write_bytes(b"")
    (tmp_path / "b.onnx").write_bytes(b"")
    with pytest.raises(NoModelFound, match=r"a\.onnx, b\.onnx.*model_file"):
        open_model(tmp_path)


def test_model_file_by_name_or_by_its_path(tmp_path: Path) -> None:
    """A config beside the model makes ``"model_file": "b.onnx"`` a path (``config.beside_config``)."""
    from hubserving.modules.exported_model.runtime import NoModelFound, choose_files

    (tmp_path / "a.onnx").write_bytes(b"")
    (tmp_path / "b.onnx").write_bytes(b"")
    assert choose_files(tmp_path, "b.onnx").program.name == "b.onnx"
    assert choose_files(tmp_path, str(tmp_path / "b.onnx")).program.name == "b.onnx"
    with pytest.raises(NoModelFound, match="has no model file"):
        choose_files(tmp_path, str(tmp_path.parent / "b.onnx"))


def test_served_by_name_without_a_folder_says_how_to_serve_one() -> None:
    from hubserving.errors import ConfigError
    from hubserving.modules.exported_model.module import ExportedModel

    with pytest.raises(ConfigError, match=r"hub serving start -m \./<folder>.*init_args\.model_dir"):
        ExportedModel()


def test_integers_outside_the_inputs_type_are_refused_by_name() -> None:
    import numpy as np

    from hubserving.modules.exported_model.signature import cast

    assert cast("ids", np.array([0, 127]), "int8").dtype == np.int8
    with pytest.raises(RequestError, match="input 'ids': values out of the range of int8"):
        cast("ids", np.array([0, 300]), "int8")
