"""Routes and answers: the envelope and its codes, request ids, methods, and the routes that
describe the server. In-process, with a fake predictor standing in for the workers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hubserving import envelope
from hubserving.errors import Code
from hubserving.runtime.messages import PredictReply
from tests.fakes import FakePredictor, InProcessClient, in_process

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
INFO_ROUTES = ("/", "/modules", "/metrics", "/health", "/ready", "/v2/health/live", "/v2/health/ready")
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")


@pytest.fixture(scope="module")
def client() -> Iterator[InProcessClient]:
    with in_process() as running:
        yield running


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.split(" ")[0] == name:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in metrics:\n{text}")


# --- module names and methods -----------------------------------------------------------------


@FUZZ
@given(module=st.text(max_size=300))
def test_any_other_module_name_gets_111_naming_it(client: InProcessClient, module: str) -> None:
    assume(module not in (".", ".."))  # a client resolves these before sending
    answer = client.post("/predict/" + quote(module, safe=""), json={"texts": ["ok"]})
    if module == "echo":
        assert answer.status_code == 200
    else:
        assert answer.status_code == 404, answer.text
        assert answer.json() == {"msg": f"Module {module} is not available.", "results": "", "status": "111"}


@pytest.mark.parametrize("method", [m for m in METHODS if m != "POST"])
def test_other_methods_on_predict_get_405_and_the_envelope(client: InProcessClient, method: str) -> None:
    answer = client.request(method, "/predict/echo")
    assert answer.status_code == 405 and answer.headers["allow"] == "POST", answer.text
    assert answer.headers["content-type"] == "application/json" and "x-request-id" in answer.headers
    if method != "HEAD":
        assert answer.json()["status"] == "121" and f"not {method}" in answer.json()["msg"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("route", INFO_ROUTES)
def test_every_route_answers_every_method(client: InProcessClient, route: str, method: str) -> None:
    answer = client.request(method, route, content=b'{"texts": ["ok"]}')
    assert answer.status_code == (200 if method in ("GET", "HEAD") else 405), answer.text


@FUZZ
@given(
    route=st.sampled_from(INFO_ROUTES),
    method=st.sampled_from(METHODS),
    query=st.text(max_size=40),
    body=st.binary(max_size=200),
)
def test_info_routes_ignore_whatever_comes_with_the_request(
    client: InProcessClient, route: str, method: str, query: str, body: bytes
) -> None:
    answer = client.request(method, f"{route}?{quote(query)}", content=body)
    assert answer.status_code == (200 if method in ("GET", "HEAD") else 405), answer.text


# --- request ids ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [("/predict/echo", {"texts": ["a"]}), ("/predict/nothere", {}), ("/predict/echo", None)],
    ids=["served", "404", "415"],
)
def test_a_sane_request_id_is_echoed_on_every_answer(
    client: InProcessClient, path: str, body: object
) -> None:
    content = {"json": body} if body is not None else {"content": b"x"}
    answer = client.post(path, headers={"X-Request-ID": "trace-42"}, **content)
    assert answer.headers["x-request-id"] == "trace-42"


@pytest.mark.parametrize("given_id", ["", "has space", "x" * 129, "naïve", "tab\there"])
def test_an_unusable_request_id_is_replaced_by_a_new_one(client: InProcessClient, given_id: str) -> None:
    answer = client.predict({"texts": ["a"]}, headers={"X-Request-ID": given_id.encode()})
    made = answer.headers["x-request-id"]
    assert len(made) == 32 and made != given_id and int(made, 16) >= 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        *(("GET", route) for route in INFO_ROUTES),
        ("HEAD", "/health"),
        ("GET", "/no/such/path"),
        ("POST", "/health"),
        ("DELETE", "/modules"),
        ("GET", "/predict/echo"),
    ],
)
def test_every_answer_carries_the_request_id(client: InProcessClient, method: str, path: str) -> None:
    """Health checks, the page, metrics, 404s and 405s too: not only predictions."""
    given = client.request(method, path, headers={"X-Request-ID": "trace-7"})
    assert given.headers["x-request-id"] == "trace-7"
    made = client.request(method, path).headers["x-request-id"]
    assert len(made) == 32 and int(made, 16) >= 0


def test_a_cors_preflight_carries_a_request_id_too() -> None:
    with in_process({"cors": "https://app.example.com"}) as client:
        answer = client.request(
            "OPTIONS",
            "/predict/echo",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "POST",
                "X-Request-ID": "trace-8",
            },
        )
    assert answer.status_code == 200 and answer.headers["x-request-id"] == "trace-8"
    assert answer.headers.get_list("x-request-id") == ["trace-8"]


def test_a_prediction_answer_has_one_request_id(client: InProcessClient) -> None:
    assert len(client.predict({"texts": ["a"]}).headers.get_list("x-request-id")) == 1


def test_each_request_without_an_id_gets_a_new_one(client: InProcessClient) -> None:
    ids = {client.predict({"texts": ["a"]}).headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


# --- what the predictor answers ---------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        Code.INVALID_ARGUMENTS,
        Code.NOT_READY,
        Code.OVERLOADED,
        Code.TIMEOUT,
        Code.WORKER_LOST,
        Code.PREDICT_FAILED,
    ],
)
def test_the_predictors_answer_is_passed_on_with_retry_after_on_503(code: Code) -> None:
    reply = PredictReply(0, code.http_status, envelope.failure(code, "why"))
    with in_process(predictor=FakePredictor(answer=lambda module, body: reply)) as client:
        answer = client.predict({"texts": ["a"]})
    assert answer.status_code == code.http_status and answer.json()["status"] == code.status
    assert answer.headers.get("retry-after") == ("1" if code.http_status == 503 else None)


def broken(module: str, body: bytes | bytearray) -> PredictReply:
    raise RuntimeError("a bug in the front")


def test_a_failure_inside_the_front_is_a_500_with_the_request_id_and_a_logged_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with in_process(predictor=FakePredictor(answer=broken)) as client, caplog.at_level(logging.ERROR):
        answer = client.predict({"texts": ["a"]}, headers={"X-Request-ID": "trace-500"})
    assert answer.status_code == 500 and answer.json()["status"] == "122"
    assert "request id trace-500" in answer.json()["msg"] and "bug" not in answer.json()["msg"]
    [record] = [r for r in caplog.records if r.name == "hubserving.http"]
    assert "trace-500" in record.getMessage() and record.exc_info is not None


# --- health, readiness, descriptions, metrics -------------------------------------------------


@pytest.mark.parametrize("path", ["/ready"])  # /v2/health/ready: tests/test_v2_http.py
def test_ready_only_when_the_predictor_is(path: str) -> None:
    predictor = FakePredictor(ready=False, descriptions=())
    with in_process(predictor=predictor) as client:
        loading = client.get(path)
        assert loading.status_code == 503 and loading.json() == {"status": "loading", "workers": 1}
        assert client.get("/health").json() == {"status": "alive"}
        predictor.ready = True
        assert client.get(path).json() == {"status": "ready", "workers": 1}


def test_modules_and_the_page_describe_what_is_served(client: InProcessClient) -> None:
    described = client.get("/modules").json()
    [module] = described["modules"]
    assert module["name"] == "echo" and module["url"] == "/predict/echo" and module["category"] == "nlp"
    assert module["input_arg"] == "texts" and module["parameters"][0]["name"] == "texts"
    assert described["server"]["ready"] is True and described["server"]["workers"] == 1
    page = client.get("/")
    assert "Echo texts back (test module)" in page.text and "content-security-policy" in page.headers


def test_metrics_count_answers_by_module_and_status_and_read_the_predictor() -> None:
    predictor = FakePredictor(depth={"echo": 3})
    with in_process(predictor=predictor) as client:
        for _ in range(3):
            client.predict({"texts": ["a"]})
        client.post("/predict/echo", content=b"x", headers={"content-type": "text/plain"})
        for name in ("a", "b", "c"):
            client.predict({"texts": ["a"]}, module=name)
        text = client.get("/metrics").text
    assert metric(text, 'hub_requests_total{http_status="200",module="echo"}') == 3
    assert metric(text, 'hub_requests_total{http_status="415",module="echo"}') == 1
    assert 'module="a"' not in text  # unknown names never become labels
    assert metric(text, 'hub_queue_depth{module="echo"}') == 3
    assert metric(text, "hub_workers_ready") == 1
