"""``hub serving reload|load|unload``: ask a running server, found by its pid record, to change modules."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from hubserving.errors import HubServingError
from hubserving.paths import HubHome
from hubserving.pidrecord import live_server, read_record

CONTROL_TOKEN_HEADER = "x-hub-control-token"
MANAGE_TIMEOUT_S = 900.0  # loading a module can take minutes; the server answers when it is done


class ManageError(HubServingError):
    """The server could not be reached or refused the change; the message says why."""


@dataclass(frozen=True)
class ServerAddress:
    """Where a local server listens, and the token that proves we may manage it."""

    url: str
    token: str


def find_server(home: HubHome, port: int) -> ServerAddress:
    record = read_record(home, port)
    if record is None or live_server(record) is None:
        raise ManageError(f"no hubserving server runs on port {port} (no live pid record); start one first")
    host = record.host if record.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return ServerAddress(f"http://{host}:{port}", record.control_token)


def _headers(server: ServerAddress, api_key: str | None) -> dict[str, str]:
    headers = {CONTROL_TOKEN_HEADER: server.token}
    key = api_key or os.environ.get("HUB_API_KEY")
    if key:
        headers["authorization"] = f"Bearer {key}"
    return headers


def post(server: ServerAddress, path: str, body: Mapping[str, Any], api_key: str | None = None) -> Any:
    """POST ``body``; the JSON answer, or ManageError with the server's own reason."""
    try:
        response = httpx.post(
            server.url + path, json=dict(body), headers=_headers(server, api_key), timeout=MANAGE_TIMEOUT_S
        )
    except httpx.HTTPError as error:
        raise ManageError(f"cannot reach the server at {server.url}: {error}") from None
    try:
        answer = response.json()
    except ValueError:
        answer = {"error": response.text}
    if response.status_code != 200:
        reason = answer.get("error") or answer.get("msg") if isinstance(answer, dict) else answer
        raise ManageError(f"the server refused (HTTP {response.status_code}): {reason}")
    return answer


def reload_modules(home: HubHome, port: int, modules: list[str], api_key: str | None = None) -> list[str]:
    answer = post(find_server(home, port), "/v2/repository/reload", {"modules": modules}, api_key)
    return list(answer["reloaded"])


def load_module(
    home: HubHome, port: int, module: str, entry: Mapping[str, Any] | None, api_key: str | None = None
) -> None:
    name = module.split("==", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    body: dict[str, Any] = {"module": module}
    if entry:
        body["config"] = dict(entry)
    post(find_server(home, port), f"/v2/repository/models/{name}/load", body, api_key)


def unload_module(home: HubHome, port: int, name: str, api_key: str | None = None) -> None:
    post(find_server(home, port), f"/v2/repository/models/{name}/unload", {}, api_key)
