"""A prediction request's body before any worker sees it: media type, encoding, size, and
multipart forms turned into the JSON the module takes. In-process, with a fake predictor."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from collections.abc import AsyncIterator, Iterator

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubserving import envelope
from hubserving.module.signature import Parameter
from hubserving.runtime.messages import PredictReply
from tests.fakes import FakePredictor, InProcessClient, echo_description, in_process

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SMALL_LIMIT = {"max_body_mb": 0.01}  # 10,485 bytes
SMALL_LIMIT_BYTES = int(0.01 * 1024 * 1024)
BOUNDARY = "fuzz-7d3a9c1e5b"
MULTIPART_FORM = f"multipart/form-data; boundary={BOUNDARY}"


@pytest.fixture(scope="module")
def client() -> Iterator[InProcessClient]:
    with in_process() as running:
        yield running


@pytest.fixture(autouse=True)
def forget_calls(client: InProcessClient) -> None:
    client.state.predictor.calls.clear()  # type: ignore[attr-defined]


def sent_json(client: InProcessClient) -> object:
    """The JSON body the front passed to the predictor."""
    return orjson.loads(client.state.predictor.last_body)  # type: ignore[attr-defined]


def assert_refused(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["status"] == code and body["results"] == "" and body["msg"], body


# --- media types ------------------------------------------------------------------------------

header_values = st.binary(max_size=40).map(
    lambda raw: bytes(b for b in raw if b == 9 or 32 <= b < 127 or b >= 128).strip()
)
content_types = header_values | st.sampled_from(
    [b"text/plain", b"application/x-www-form-urlencoded", b"multipart/form-data; boundary=x", b"json",
     b"application/xml", b"application", b"*/*", b"text/json", b"", b"application/octet-stream",
     b"application/json; charset=utf-8", b"Application/JSON", b"application/vnd.api+json",
     b"application/jsonp"]
)  # fmt: skip


@FUZZ
@given(content_type=content_types)
def test_only_json_and_multipart_reach_the_predictor(client: InProcessClient, content_type: bytes) -> None:
    client.state.predictor.calls.clear()  # type: ignore[attr-defined]
    headers = {"content-type": content_type} if content_type else {}
    answer = client.post("/predict/echo", content=b'{"texts": ["ok"]}', headers=headers)
    media_type = content_type.split(b";", 1)[0].strip().lower()
    if media_type == b"application/json" or media_type.endswith(b"+json"):
        assert answer.status_code == 200 and client.state.predictor.last_body == b'{"texts": ["ok"]}'  # type: ignore[attr-defined]
    elif media_type == b"multipart/form-data":
        assert 400 <= answer.status_code < 500, answer.text  # a JSON body is no multipart form
    else:
        assert_refused(answer, 415, "112")
        assert "Content-Type: application/json" in answer.json()["msg"]
        assert not client.state.predictor.calls  # type: ignore[attr-defined]


# --- encodings --------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate", "gzip, br", "x-unknown"])
def test_an_encoded_body_is_refused_naming_the_encoding(client: InProcessClient, encoding: str) -> None:
    answer = client.post(
        "/predict/echo",
        content=b"\x1f\x8b\x08\x00compressed",
        headers={"content-type": "application/json", "content-encoding": encoding},
    )
    assert_refused(answer, 415, "123")
    assert f"Content-Encoding: {encoding}" in answer.json()["msg"] and "uncompressed" in answer.json()["msg"]
    assert not client.state.predictor.calls  # type: ignore[attr-defined]


def test_identity_encoding_is_no_encoding(client: InProcessClient) -> None:
    answer = client.predict({"texts": ["a"]}, headers={"content-encoding": "identity"})
    assert answer.status_code == 200


# --- sizes ------------------------------------------------------------------------------------


def test_a_body_over_the_limit_gets_413_whether_declared_or_streamed() -> None:
    with in_process(SMALL_LIMIT) as client:
        declared = client.post(
            "/predict/echo",
            content=b" " * (SMALL_LIMIT_BYTES + 1),
            headers={"content-type": "application/json"},
        )
        assert_refused(declared, 413, "115")
        assert "over 0.01 MB (the server's max_body_mb)" in declared.json()["msg"]

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit holds while reading
            for _ in range(20):
                yield b" " * 1000

        streamed = client.post(
            "/predict/echo", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_refused(streamed, 413, "115")
        assert not client.state.predictor.calls  # type: ignore[attr-defined]
        at_limit = client.post(
            "/predict/echo", content=b" " * SMALL_LIMIT_BYTES, headers={"content-type": "application/json"}
        )
        assert at_limit.status_code == 200


@pytest.mark.parametrize("as_file", [True, False], ids=["file", "field"])
def test_a_multipart_form_over_the_limit_gets_413(as_file: bool) -> None:
    with in_process(SMALL_LIMIT) as client:
        form = multipart_body([("images", b"x" * (SMALL_LIMIT_BYTES + 1), as_file)])
        answer = client.post("/predict/echo", content=form, headers={"content-type": MULTIPART_FORM})
        assert_refused(answer, 413, "115")


def test_a_client_that_leaves_mid_body_is_not_sent_to_a_worker(client: InProcessClient) -> None:
    arriving: list[dict[str, object]] = [
        {"type": "http.request", "body": b'{"texts": [', "more_body": True},
        {"type": "http.disconnect"},
    ]
    client.run(client.send_raw("/predict/echo", [(b"content-type", b"application/json")], arriving))
    assert not client.state.predictor.calls  # type: ignore[attr-defined]


# --- multipart forms --------------------------------------------------------------------------


def test_files_become_base64_lists_and_fields_json_values(client: InProcessClient) -> None:
    answer = client.post(
        "/predict/echo",
        files=[("images", ("a.png", b"\x89PNG one")), ("images", ("b.png", b"two")), ("single", ("c", b"3"))],
        data={"top_k": "3", "visualization": "true", "label": "cat", "nested": '{"a": [1]}'},
    )
    assert answer.status_code == 200, answer.text
    assert sent_json(client) == {
        "top_k": 3,
        "visualization": True,
        "label": "cat",
        "nested": {"a": [1]},
        "images": [base64.b64encode(b"\x89PNG one").decode(), base64.b64encode(b"two").decode()],
        "single": [base64.b64encode(b"3").decode()],
    }


def post_fields(client: InProcessClient, *fields: tuple[str, str]) -> httpx.Response:
    form = multipart_body([(name, value.encode(), False) for name, value in fields])
    return client.post("/predict/echo", content=form, headers={"content-type": MULTIPART_FORM})


def test_a_text_field_named_like_the_list_input_becomes_a_list(client: InProcessClient) -> None:
    post_fields(client, ("texts", "今天是个好日子"))
    assert sent_json(client) == {"texts": ["今天是个好日子"]}
    post_fields(client, ("text", "[1, 2]"), ("upper", "true"))  # an alias of texts; never parsed
    assert sent_json(client) == {"text": ["[1, 2]"], "upper": True}
    post_fields(client, ("texts", "a"), ("texts", "b"))
    assert sent_json(client) == {"texts": ["a", "b"]}


def described_as(**changes: object) -> FakePredictor:
    return FakePredictor(descriptions=(dataclasses.replace(echo_description(), **changes),))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "predictor",
    [
        described_as(
            input_arg="text", batch_arg=None, parameters=(Parameter("text", required=True, type="str"),)
        ),
        described_as(input_arg=None, batch_arg=None),
        FakePredictor(descriptions=()),  # still loading: nothing known about the module
    ],
    ids=["str input", "no input declared", "not loaded"],
)
def test_a_text_field_stays_a_value_when_the_input_is_not_a_list(predictor: FakePredictor) -> None:
    with in_process(predictor=predictor) as client:
        post_fields(client, ("texts", "a"), ("text", "b"))
        assert sent_json(client) == {"texts": "a", "text": "b"}


def test_the_input_of_a_module_without_batching_is_a_list_by_its_type_hint() -> None:
    with in_process(predictor=described_as(batch_arg=None)) as client:
        post_fields(client, ("texts", "a"))
        assert sent_json(client) == {"texts": ["a"]}


def test_a_name_given_twice_collects_its_values(client: InProcessClient) -> None:
    client.post("/predict/echo", data={"upper": "1"}, files=[("upper", ("f.txt", b"hi"))])
    assert sent_json(client) == {"upper": [1, base64.b64encode(b"hi").decode()]}


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("multipart/form-data", b"--x\r\n", "no boundary"),
        ("multipart/form-data; boundary=", b"--x\r\n", "no boundary"),
        (
            MULTIPART_FORM,
            f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nv\r\n--{BOUNDARY}--\r\n".encode(),
            "no name",
        ),
        (
            MULTIPART_FORM,
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\nv'.encode(),
            "closing boundary",
        ),
        ("multipart/form-data; boundary=x", b"--x\r\nbroken", "closing boundary"),
    ],
    ids=["no boundary", "empty boundary", "nameless part", "unterminated", "broken head"],
)
def test_a_malformed_form_is_a_400_that_says_what_is_wrong(
    client: InProcessClient, content_type: str, body: bytes, expected: str
) -> None:
    answer = client.post("/predict/echo", content=body, headers={"content-type": content_type})
    assert_refused(answer, 400, "113")
    assert expected in answer.json()["msg"]


part_names = st.sampled_from(["texts", "text", "upper", "images", ""]) | st.text(max_size=12).filter(
    lambda name: '"' not in name and "\\" not in name and "\r" not in name and "\n" not in name
)
parts = st.tuples(
    part_names, st.binary(max_size=60).filter(lambda raw: BOUNDARY.encode() not in raw), st.booleans()
)


def multipart_body(form: list[tuple[str, bytes, bool]]) -> bytes:
    chunks = []
    for name, value, is_file in form:
        disposition = f'Content-Disposition: form-data; name="{name}"' + ('; filename="f"' if is_file else "")
        chunks.append(f"--{BOUNDARY}\r\n{disposition}\r\n\r\n".encode() + value + b"\r\n")
    return b"".join(chunks) + f"--{BOUNDARY}--\r\n".encode()


@FUZZ
@given(form=st.lists(parts, max_size=6))
def test_any_form_becomes_a_json_object_with_every_field(
    client: InProcessClient, form: list[tuple[str, bytes, bool]]
) -> None:
    answer = client.post(
        "/predict/echo", content=multipart_body(form), headers={"content-type": MULTIPART_FORM}
    )
    assert answer.status_code == 200, answer.text
    sent = sent_json(client)
    assert isinstance(sent, dict) and set(sent) == {name for name, _, _ in form}


@FUZZ
@given(noise=st.binary(max_size=300), start=st.sampled_from([b"", f"--{BOUNDARY}\r\n".encode()]))
def test_broken_multipart_bytes_get_a_4xx_envelope_or_pass(
    client: InProcessClient, noise: bytes, start: bytes
) -> None:
    for content_type in (MULTIPART_FORM, "multipart/form-data", "multipart/form-data; boundary="):
        answer = client.post("/predict/echo", content=start + noise, headers={"content-type": content_type})
        assert answer.status_code == 200 or 400 <= answer.status_code < 500, answer.text
        assert set(answer.json()) == {"msg", "results", "status"}


def test_a_large_upload_is_parsed_without_holding_up_the_event_loop() -> None:
    """A 60 MB form took the loop for 200 ms, and /health with it: it is parsed in a thread now."""
    upload = multipart_body([("images", b"\xff" * 60_000_000, True), ("texts", b"a", False)])
    sizes = FakePredictor(answer=lambda module, body: PredictReply(0, 200, envelope.success(len(body))))
    with in_process(predictor=sizes) as client:

        async def upload_while_ticking() -> float:
            loop = asyncio.get_running_loop()
            longest_s, last = 0.0, loop.time()
            arriving = [{"type": "http.request", "body": upload, "more_body": False}]
            headers = [(b"content-type", MULTIPART_FORM.encode())]
            posting = asyncio.ensure_future(client.send_raw("/predict/echo", headers, arriving))
            while not posting.done():
                await asyncio.sleep(0.001)
                now = loop.time()
                longest_s, last = max(longest_s, now - last), now
            status, body = await posting
            assert status == 200 and orjson.loads(body)["results"] == 80_000_000 + len(
                b'{"images":[""],"texts":["a"]}'
            )
            return longest_s

        longest_s = client.run(upload_while_ticking())
    print("LONGEST", longest_s)
    assert longest_s < 0.05, f"the event loop was held for {longest_s * 1000:.0f} ms"
