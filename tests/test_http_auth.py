"""Who may call the server: the API key, CORS for browser apps, and forms from other sites."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.fakes import InProcessClient, in_process

KEY = "s3cret-key"
ORIGIN = "https://app.example.com"
FORMS = {
    "multipart": {"files": {"images": ("a.png", b"png")}},
    "urlencoded": {"data": {"texts": "a"}},
    "text/plain": {"content": b"texts=a"},
}
CONTENT_TYPES = {"text/plain": "text/plain"}


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.split(" ")[0] == name:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in metrics:\n{text}")


def post_form(client: InProcessClient, form: str, origin: str | None) -> httpx.Response:
    headers = {"Origin": origin} if origin else {}
    if form in CONTENT_TYPES:
        headers["Content-Type"] = CONTENT_TYPES[form]
    return client.post("/predict/echo", headers=headers, **FORMS[form])  # type: ignore[arg-type]


# --- the API key -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/predict/echo", "/predict/nothere", "/modules", "/metrics"])
def test_the_api_key_guards_predictions_and_descriptions(path: str) -> None:
    with in_process({"api_key": KEY}) as client:
        refused = (
            client.post(path, json={"texts": ["a"]}) if path.startswith("/predict") else client.get(path)
        )
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert refused.json()["status"] == "120" and "Authorization: Bearer" in refused.json()["msg"]
        assert len(refused.headers["x-request-id"]) == 32
        assert not client.state.predictor.calls  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "headers",
    [{"X-API-Key": "nope-nope"}, {"Authorization": "Bearer nope-nope"}, {"Authorization": KEY}, {}],
    ids=["wrong header key", "wrong bearer", "no scheme", "none"],
)
def test_a_wrong_or_missing_key_is_refused(headers: dict[str, str]) -> None:
    with in_process({"api_key": KEY}) as client:
        assert client.predict({"texts": ["a"]}, headers=headers).status_code == 401


@pytest.mark.parametrize(
    "headers", [{"X-API-Key": KEY}, {"Authorization": f"Bearer {KEY}"}, {"Authorization": f"bearer  {KEY} "}]
)
def test_the_key_opens_every_route(headers: dict[str, str]) -> None:
    with in_process({"api_key": KEY}) as client:
        assert client.predict({"texts": ["a"]}, headers=headers).status_code == 200
        assert client.get("/modules", headers=headers).status_code == 200
        assert client.get("/metrics", headers=headers).status_code == 200


@pytest.mark.parametrize(
    "path", ["/health", "/ready", "/v2/health/live", "/v2/health/ready", "/", "/static/main.js"]
)
def test_health_and_the_page_need_no_key(path: str) -> None:
    with in_process({"api_key": KEY}) as client:
        assert client.get(path).status_code == 200


def test_refused_requests_are_counted_and_logged(tmp_path: Path) -> None:
    with in_process({"api_key": KEY}, log_dir=tmp_path) as client:
        client.predict({"texts": ["a"]}, headers={"X-Request-ID": "denied-1"})
        client.get("/modules")
        text = client.get("/metrics", headers={"X-API-Key": KEY}).text
        client.state.access_log.flush()  # type: ignore[union-attr]
    assert metric(text, "hub_unauthorized_requests_total") == 2
    assert metric(text, 'hub_requests_total{http_status="401",module="echo"}') == 1
    lines = (tmp_path / "serving_8866.access.log").read_text(encoding="utf-8").splitlines()
    assert '"POST /predict/echo" 401 ' in lines[0] and lines[0].endswith("id=denied-1")
    assert '"GET /modules" 401 ' in lines[1]


# --- CORS ------------------------------------------------------------------------------------


def test_cors_answers_preflights_and_marks_answers_only_for_configured_origins() -> None:
    with in_process({"cors": ORIGIN}) as client:
        preflight = client.request(
            "OPTIONS",
            "/predict/echo",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        posted = client.predict({"texts": ["a"]}, headers={"Origin": ORIGIN})
        assert posted.headers["access-control-allow-origin"] == ORIGIN
        assert "x-request-id" in posted.headers["access-control-expose-headers"]
        other = client.predict({"texts": ["a"]}, headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_without_cors_no_origin_is_allowed() -> None:
    with in_process() as client:
        answer = client.predict({"texts": ["a"]}, headers={"Origin": ORIGIN})
        assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers


# --- forms from other sites ------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS, ids=FORMS.keys())
@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1:9999"])
def test_a_form_posted_by_another_site_is_refused(form: str, origin: str) -> None:
    """A form needs no CORS preflight: without this check any page could make a browser post one."""
    with in_process() as client:
        answer = post_form(client, form, origin)
        assert answer.status_code == 415 and answer.json()["status"] == "112", answer.text
        assert repr(origin) in answer.json()["msg"] and "--cors" in answer.json()["msg"]
        assert not client.state.predictor.calls  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("settings", "origin"),
    [
        ({}, None),
        ({}, "http://127.0.0.1:8866"),  # the server's own page
        ({"cors": ORIGIN}, ORIGIN),
        ({"cors": "*"}, "https://anyone.example"),
    ],
    ids=["no origin", "same origin", "allowed by --cors", "--cors *"],
)
def test_forms_from_the_own_page_allowed_origins_and_non_browsers_are_served(
    settings: dict[str, object], origin: str | None
) -> None:
    with in_process(settings) as client:
        answer = post_form(client, "multipart", origin)
        assert answer.status_code == 200, answer.text


def test_json_from_another_site_is_left_to_cors() -> None:
    """Browsers preflight JSON posts, so CORS already keeps foreign pages out; non-browsers are served."""
    with in_process() as client:
        assert client.predict({"texts": ["a"]}, headers={"Origin": "https://evil.example"}).status_code == 200
