"""Bad input never takes the server down: fuzzed bodies through a real server and its worker.

Every request must be answered (no reset, no hang), a client's mistake must get a 4xx with the
envelope, and after every example a correct request still works. What the front alone decides
(content types, sizes, codes, auth) is tested in-process in the other ``test_http_*`` files; these
bodies go all the way to the module, where decoding and argument checks happen.
"""

from __future__ import annotations

import base64
import json
import math
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.rawhttp import Answer, assert_echoed, assert_envelope_error, assert_still_serving, predict
from tests.serverproc import ServerProcess, free_port

FIXTURES = Path(__file__).parent / "fixtures"
ECHO_ARGUMENTS = ("texts", "upper", "sleep_s", "crash")
MAX_SLEEP_S = 600
MULTIPART = b"multipart/form-data"
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One ``hub serving start -m echo`` for the whole file."""
    home = tmp_path_factory.mktemp("fuzz") / "hub_home"
    shutil.copytree(FIXTURES / "modules", home / "modules")
    port = free_port()
    with ServerProcess(["-m", "echo", "-p", str(port)], home, port) as running:
        yield running


def assert_predict_answer(answer: Answer, expected: list[str] | None) -> None:
    """``expected`` texts for a valid request, None for a client mistake."""
    if expected is None:
        assert_envelope_error(answer)
    else:
        assert_echoed(answer, expected)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def expected_echo(payload: object) -> list[str] | None:
    """What ``echo(texts: list[str], upper: bool, sleep_s: float, crash: bool)`` returns for a
    decoded body; None when the body is a client mistake (checked against the type hints)."""
    if not isinstance(payload, dict):
        return None
    data = dict(payload)
    if "text" in data and "texts" not in data:
        data["texts"] = data.pop("text")
    texts = data.get("texts")
    if set(data) - set(ECHO_ARGUMENTS) or not isinstance(texts, list):
        return None
    if not all(isinstance(text, str) for text in texts):
        return None
    upper, crash, sleep_s = data.get("upper", False), data.get("crash", False), data.get("sleep_s", 0)
    if not isinstance(upper, bool) or crash is not False or not _is_number(sleep_s):
        return None
    if not 0 <= sleep_s <= MAX_SLEEP_S:
        return None
    return [text.upper() if upper else text for text in texts]


# --- strategies ------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
texts_values = st.lists(st.text(max_size=30), max_size=5) | json_values
# Only values that end quickly: a long sleep would only test --timeout, and a truthy crash kills the worker.
sleep_values = st.sampled_from([0, 0.0, 0.001, -1, -0.5, "1", "x", None, [], {}, [1], {"s": 1}])
crash_values: st.SearchStrategy[object] = st.sampled_from([False, 0, 0.0, None, "", [], {}])
known_arguments = st.fixed_dictionaries(
    {},
    optional={
        "texts": texts_values,
        "text": texts_values,
        "upper": st.booleans() | json_values,
        "sleep_s": sleep_values,
        "crash": crash_values,
    },
)
unknown_arguments = st.dictionaries(
    st.text(max_size=10).filter(lambda key: key not in (*ECHO_ARGUMENTS, "text")), json_values, max_size=2
)
likely_valid = st.fixed_dictionaries(
    {"texts": st.lists(st.text(max_size=30), max_size=5)},
    optional={"upper": st.booleans(), "sleep_s": st.sampled_from([0, 0.001]), "crash": st.just(False)},
)
payloads = (
    st.tuples(known_arguments, unknown_arguments).map(lambda pair: {**pair[1], **pair[0]})
    | likely_valid
    | json_values
)
VALID = b'{"texts": ["ok", "fine"], "upper": false}'
mutated_bodies = st.tuples(
    st.integers(min_value=0, max_value=len(VALID)),
    st.integers(min_value=0, max_value=3),
    st.binary(max_size=6),
).map(lambda cut: VALID[: cut[0]] + cut[2] + VALID[cut[0] + cut[1] :])


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# --- bodies ----------------------------------------------------------------------------------


@FUZZ
@given(payload=payloads)
def test_json_bodies_of_any_shape_get_the_right_answer_or_a_4xx(
    server: ServerProcess, payload: object
) -> None:
    expected = expected_echo(payload)
    event("valid request" if expected is not None else "client mistake")
    assert_predict_answer(predict(server, json.dumps(payload).encode()), expected)
    assert_still_serving(server)


@FUZZ
@given(body=st.binary(max_size=300) | mutated_bodies)
def test_bytes_that_are_not_a_valid_request_get_a_4xx_envelope(server: ServerProcess, body: bytes) -> None:
    answer = predict(server, body)
    if not _is_utf8(body):
        assert_envelope_error(answer, "113")
    try:
        expected = expected_echo(orjson.loads(body))
    except orjson.JSONDecodeError:
        expected = None
    event("valid request" if expected is not None else "client mistake")
    assert_predict_answer(answer, expected)
    assert_still_serving(server)


@FUZZ
@given(inserted=st.binary(min_size=1, max_size=8).filter(lambda raw: not _is_utf8(raw)))
def test_invalid_utf8_inside_a_string_is_malformed_json(server: ServerProcess, inserted: bytes) -> None:
    assert_envelope_error(predict(server, b'{"texts": ["a' + inserted + b'b"]}'), "113")
    assert_still_serving(server)


@settings(FUZZ, max_examples=40)
@given(depth=st.integers(min_value=1, max_value=200_000), opener=st.sampled_from([b"[", b'{"a":']))
def test_deeply_nested_bodies_are_refused_quickly(server: ServerProcess, depth: int, opener: bytes) -> None:
    closer = b"]" if opener == b"[" else b"}"
    nested = opener * depth + (b"" if opener == b"[" else b"1") + closer * depth
    expected: list[str] | None = [] if nested == b"[]" else None
    assert_predict_answer(predict(server, b'{"texts": ' + nested + b"}"), expected)
    assert_predict_answer(predict(server, nested), None)
    assert_still_serving(server)


def test_unclosed_nesting_of_100000_brackets_is_malformed_json(server: ServerProcess) -> None:
    assert_envelope_error(predict(server, b"[" * 100_000), "113")
    assert_envelope_error(predict(server, b'{"texts": ' + b"[" * 100_000), "113")
    assert_still_serving(server)


def test_a_few_megabytes_are_served_or_refused_by_content(server: ServerProcess) -> None:
    big_text = "x" * 5_000_000
    assert_echoed(predict(server, json.dumps({"texts": [big_text]}).encode()), [big_text])
    assert_echoed(predict(server, json.dumps({"texts": ["y"] * 100_000}).encode()), ["y"] * 100_000)
    assert_envelope_error(predict(server, b"{" + b"x" * 5_000_000), "113")
    assert_still_serving(server)


# --- multipart forms, all the way to the module ---------------------------------------------

BOUNDARY = b"fuzz-7d3a9c1e5b"
MULTIPART_FORM = MULTIPART + b"; boundary=" + BOUNDARY


def multipart_body(parts: Sequence[tuple[bytes, bytes, bytes | None]]) -> bytes:
    chunks = []
    for name, value, filename in parts:
        disposition = b'Content-Disposition: form-data; name="' + name + b'"'
        if filename is not None:
            disposition += b'; filename="' + filename + b'"'
        chunks.append(b"--" + BOUNDARY + b"\r\n" + disposition + b"\r\n\r\n" + value + b"\r\n")
    return b"".join(chunks) + b"--" + BOUNDARY + b"--\r\n"


def _quoted_safe(raw: bytes) -> bytes:
    return bytes(b for b in raw if b >= 32 and b not in b'"\\')


# Field names a form could carry; never crash or sleep_s, whose values would kill or stall a worker.
part_names = st.sampled_from([b"texts", b"text", b"upper", b"images", b""]) | st.binary(max_size=12).map(
    _quoted_safe
).filter(lambda name: name not in (b"crash", b"sleep_s"))
part_values = st.text(max_size=40).map(str.encode) | st.binary(max_size=60).filter(
    lambda raw: BOUNDARY not in raw
)
parts = st.tuples(part_names, part_values, st.none() | st.binary(max_size=10).map(_quoted_safe))


@FUZZ
@given(form=st.lists(parts, max_size=6))
def test_any_multipart_form_gets_an_answer_or_a_4xx(
    server: ServerProcess, form: list[tuple[bytes, bytes, bytes | None]]
) -> None:
    answer = predict(server, multipart_body(form), MULTIPART_FORM)
    if answer.status == 200:
        assert answer.envelope()["status"] == "0", answer.describe()
    else:
        assert_envelope_error(answer)
    assert_still_serving(server)


@FUZZ
@given(texts=st.lists(st.text(max_size=40).filter(lambda text: "\r" not in text), min_size=1, max_size=5))
def test_multipart_text_fields_are_the_texts(server: ServerProcess, texts: list[str]) -> None:
    form = [(b"texts", text.encode(), None) for text in texts]
    assert_echoed(predict(server, multipart_body(form), MULTIPART_FORM), texts)


def test_a_file_field_arrives_as_base64_and_other_fields_as_json(server: ServerProcess) -> None:
    form = [(b"texts", b"not used as text", b"a.txt"), (b"upper", b"true", None)]
    answer = predict(server, multipart_body(form), MULTIPART_FORM)
    assert_echoed(answer, [base64.b64encode(b"not used as text").decode().upper()])


def test_a_value_of_the_wrong_type_in_a_form_is_a_400_naming_it(server: ServerProcess) -> None:
    form = [(b"upper", b"1", None), (b"upper", b"hi", b"f.txt"), (b"texts", b"a", None)]
    answer = predict(server, multipart_body(form), MULTIPART_FORM)
    assert_envelope_error(answer, "101")
    assert "upper" in answer.envelope()["msg"]


def test_an_out_of_range_number_is_a_client_error(server: ServerProcess) -> None:
    assert_envelope_error(predict(server, b'{"texts": ["a"], "sleep_s": 9223372036854775807}'), "101")
    assert_still_serving(server)
