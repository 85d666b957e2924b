"""The worker's request handling: decoding, argument checks, batching, error isolation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest

from hubserving.errors import ModuleLoadError
from hubserving.module.loader import load_module
from hubserving.runtime.handler import BatchPolicy, ModuleHandler
from hubserving.runtime.messages import PredictCall

ECHO = Path(__file__).parent / "fixtures" / "modules" / "echo"


def handler(
    batching: bool = True, max_batch_size: int = 8, predict_args: dict | None = None
) -> ModuleHandler:
    return ModuleHandler(
        "echo", load_module(ECHO, {}), predict_args or {}, BatchPolicy(batching, max_batch_size)
    )


def calls(*bodies: object) -> list[PredictCall]:
    return [
        PredictCall(i, "echo", b if isinstance(b, bytes) else orjson.dumps(b)) for i, b in enumerate(bodies)
    ]


def decoded(replies):  # type: ignore[no-untyped-def]
    return [(reply.http_status, orjson.loads(reply.body)) for reply in replies]


def test_concurrent_requests_become_one_call_and_split_back_in_order() -> None:
    replies = decoded(handler().handle(calls({"texts": ["a", "b"]}, {"texts": ["c"]}, {"text": ["d", "e"]})))
    assert [[r["text"] for r in body["results"]] for _, body in replies] == [["a", "b"], ["c"], ["d", "e"]]
    assert {r["calls"] for _, body in replies for r in body["results"]} == {1}
    assert all(status == 200 and body["status"] == "0" for status, body in replies)


def test_requests_with_different_arguments_are_not_merged() -> None:
    replies = decoded(
        handler().handle(calls({"texts": ["a"]}, {"texts": ["b"], "upper": True}, {"texts": ["c"]}))
    )
    texts = [[r["text"] for r in body["results"]] for _, body in replies]
    assert texts == [["a"], ["B"], ["c"]]
    assert replies[0][1]["results"][0]["calls"] == replies[2][1]["results"][0]["calls"]
    assert replies[1][1]["results"][0]["calls"] != replies[0][1]["results"][0]["calls"]


def test_batches_respect_max_batch_size() -> None:
    replies = decoded(
        handler(max_batch_size=3).handle(calls(*({"texts": [str(i), str(i)]} for i in range(4))))
    )
    call_numbers = [body["results"][0]["calls"] for _, body in replies]
    assert call_numbers == [1, 2, 3, 4]  # two items each, three allowed: one request per call
    assert [body["results"][1]["text"] for _, body in replies] == ["0", "1", "2", "3"]


def test_a_bad_item_fails_only_its_own_request() -> None:
    replies = decoded(handler().handle(calls({"texts": ["a"]}, {"texts": [1]}, {"texts": ["c"]})))
    assert [status for status, _ in replies] == [200, 400, 200]
    assert replies[1][1]["status"] == "101" and replies[1][1]["results"] == ""
    assert replies[1][1]["msg"] == "echo.echo(): argument 'texts' must be list[str]; texts[0] is a number (1)"
    assert [r["text"] for r in replies[2][1]["results"]] == ["c"]


def test_batching_off_calls_once_per_request() -> None:
    replies = decoded(handler(batching=False).handle(calls({"texts": ["a"]}, {"texts": ["b"]})))
    assert [body["results"][0]["calls"] for _, body in replies] == [1, 2]


def test_predict_args_are_defaults_the_request_overrides() -> None:
    h = handler(predict_args={"upper": True})
    replies = decoded(h.handle(calls({"texts": ["a"]}, {"texts": ["b"], "upper": False})))
    assert [body["results"][0]["text"] for _, body in replies] == ["A", "b"]


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        (b"{not json", 400, "113", "not valid JSON"),
        (b"", 400, "113", "not valid JSON"),
        (b"[1, 2]", 400, "114", "must be a JSON object"),
        ({"texts": ["a"], "colour": 1}, 400, "101", "does not take 'colour'; it accepts: texts, upper"),
        ({"upper": True}, 400, "101", "needs 'texts'"),
        (
            {"texts": "not a list"},
            400,
            "101",
            "'texts' must be list[str]; texts is a string (\"not a list\")",
        ),
        ({"texts": ["a"], "upper": "yes"}, 400, "101", "'upper' must be bool; upper is a string"),
        ({"texts": ["a"], "sleep_s": 1e9}, 400, "101", "sleep_s must be from 0 to 600 seconds"),
    ],
)
def test_bad_requests_get_a_clear_envelope(body: object, status: int, code: str, message: str) -> None:
    [(got_status, envelope)] = decoded(handler().handle(calls(body)))
    assert got_status == status and envelope["status"] == code and message in envelope["msg"]
    assert envelope["results"] == ""


def test_numpy_results_become_json_and_chinese_stays_utf8() -> None:
    [reply] = handler().handle(calls({"texts": ["今天"]}))
    assert "今天".encode() in reply.body
    assert orjson.loads(reply.body)["results"][0]["length"] == 2


def test_unserialisable_result_is_a_500_that_says_so() -> None:
    h = handler()
    h.loaded = h.loaded.__class__(
        h.loaded.info, lambda texts: [object() for _ in texts], h.loaded.spec, h.loaded.signature
    )
    [(status, envelope)] = decoded(h.handle(calls({"texts": ["a"]})))
    assert status == 500 and "cannot be sent as JSON" in envelope["msg"]


def test_wrong_result_count_fails_the_batch_clearly() -> None:
    h = handler()
    h.loaded = h.loaded.__class__(
        h.loaded.info, lambda texts: [np.int64(1)], h.loaded.spec, h.loaded.signature
    )
    replies = decoded(h.handle(calls({"texts": ["a"]}, {"texts": ["b"]})))
    assert all(status == 500 and "returned 1 results for 2 inputs" in body["msg"] for status, body in replies)


TYPED = Path(__file__).parent / "fixtures" / "modules" / "typed"


def typed_handler() -> ModuleHandler:
    return ModuleHandler("typed", load_module(TYPED, {}), {}, BatchPolicy(True, 32))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"texts": "not a list"}, "argument 'texts' must be list[str]; texts is a string (\"not a list\")"),
        ({"texts": [1, 2]}, "argument 'texts' must be list[str]; texts[0] is a number (1)"),
        ({"texts": ["a"], "top_k": "three"}, "argument 'top_k' must be int; top_k is a string (\"three\")"),
        ({"texts": ["a"], "top_k": True}, "argument 'top_k' must be int; top_k is true/false (true)"),
        ({"texts": ["a"], "top_k": 2.5}, "argument 'top_k' must be int; top_k is a number (2.5)"),
        ({"texts": ["a"], "upper": 1}, "argument 'upper' must be bool; upper is a number (1)"),
    ],
)
def test_type_hints_are_checked_at_the_boundary(body: object, message: str) -> None:
    [(status, envelope)] = decoded(typed_handler().handle(calls(body)))
    assert status == 400 and envelope["status"] == "101"
    assert envelope["msg"] == f"typed.run(): {message}"


def test_request_error_is_a_400_with_its_message() -> None:
    [(status, envelope)] = decoded(typed_handler().handle(calls({"texts": ["refuse me"]})))
    assert status == 400
    assert envelope["msg"] == "typed: 'refuse me' is not a text this module takes; send another"


def test_a_module_bug_is_a_500_and_its_traceback_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    [(status, envelope)] = decoded(typed_handler().handle(calls({"texts": ["bug"]})))
    assert status == 500 and envelope["status"] == "101"
    assert "a deliberate bug" in envelope["msg"] and "worker's log" in envelope["msg"]
    assert "Traceback" in caplog.text and "ValueError: an internal invariant broke" in caplog.text


def test_a_bad_request_in_a_batch_fails_alone() -> None:
    replies = decoded(
        typed_handler().handle(calls({"texts": ["a"]}, {"texts": ["refuse me"]}, {"texts": ["b"]}))
    )
    assert [status for status, _ in replies] == [200, 400, 200]


def test_predict_args_of_the_wrong_type_fail_the_load() -> None:
    with pytest.raises(ModuleLoadError, match=r"predict_args of typed: .*'top_k' must be int"):
        ModuleHandler("typed", load_module(TYPED, {}), {"top_k": "3"}, BatchPolicy(True, 32))


def test_a_batch_method_returning_none_is_an_error_not_null_results() -> None:
    h = typed_handler()
    h.loaded = h.loaded.__class__(h.loaded.info, lambda **kwargs: None, h.loaded.spec, h.loaded.signature)
    [(status, envelope)] = decoded(h.handle([PredictCall(1, "typed", b'{"texts": ["a"]}')]))
    assert status == 500 and "returned NoneType results for 1 inputs" in envelope["msg"]
