"""Turn request bodies into serving-method calls and envelopes, batching compatible requests.

Pure of processes and sockets: the worker feeds it what arrived, it returns one reply per call.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from hubserving import envelope
from hubserving.errors import Code, RequestError
from hubserving.module.loader import LoadedModule
from hubserving.runtime.messages import PredictCall, PredictReply

logger = logging.getLogger("hubserving.worker")

# Exceptions a serving method raises on arguments it cannot use: answered 400, not 500.
CLIENT_ERRORS = (TypeError, ValueError, KeyError, OverflowError)


@dataclass(frozen=True)
class BatchPolicy:
    """Whether and how far this module's requests are merged."""

    enabled: bool
    max_batch_size: int


@dataclass
class _Pending:
    """A decoded request waiting for its call."""

    call: PredictCall
    kwargs: dict[str, Any]
    reply: PredictReply | None = None


class ModuleHandler:
    """Decode, validate, (batch,) call and encode for one loaded module."""

    def __init__(self, name: str, loaded: LoadedModule, predict_args: Mapping[str, Any], policy: BatchPolicy):
        self.name = name
        self.loaded = loaded
        self.predict_args = dict(predict_args)
        self.policy = policy
        self.accepted = set(loaded.signature.names)
        self.required = [p.name for p in loaded.signature.parameters if p.required]
        self.label = f"{name}.{getattr(loaded.method, '__name__', 'serving')}()"
        self.batch_arg = loaded.spec.batch_arg if policy.enabled else None

    def handle(self, calls: Sequence[PredictCall]) -> list[PredictReply]:
        """One reply per call, in order."""
        pending: list[_Pending] = []
        for call in calls:
            try:
                pending.append(_Pending(call, self.arguments(call.body)))
            except RequestError as error:
                pending.append(_Pending(call, {}, self._error_reply(call, error.code, str(error), 400)))
        waiting = [item for item in pending if item.reply is None]
        batchable = [item for item in waiting if self._is_batchable(item.kwargs)]
        for item in waiting:
            if item not in batchable:
                item.reply = self._call_one(item)
        for group in _group_compatible(batchable, self.batch_arg or ""):
            for chunk in _chunks(group, self.batch_arg or "", self.policy.max_batch_size):
                self._call_batch(chunk)
        return [item.reply for item in pending if item.reply is not None]

    def arguments(self, body: bytes) -> dict[str, Any]:
        """The keyword arguments for one request: ``predict_args`` overridden by the body."""
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise RequestError(
                f'the request body is not valid JSON ({error}); send an object like {{"texts": ["..."]}}',
                Code.MALFORMED_JSON,
            ) from None
        if not isinstance(data, dict):
            raise RequestError(
                f"the request body must be a JSON object of arguments for {self.label}, "
                f"not a {type(data).__name__}",
                Code.BODY_NOT_OBJECT,
            )
        for alias, target in self.loaded.spec.aliases.items():
            if alias in data and target not in data:
                data[target] = data.pop(alias)
        kwargs = {**self.predict_args, **data}
        self._check_names(kwargs)
        return kwargs

    def _check_names(self, kwargs: Mapping[str, Any]) -> None:
        if not self.loaded.signature.accepts_any_keyword:
            unknown = [key for key in kwargs if key not in self.accepted]
            if unknown:
                raise RequestError(
                    f"{self.label} does not take {', '.join(map(repr, unknown))}; "
                    f"it accepts: {', '.join(self.loaded.signature.names)}"
                )
        missing = [name for name in self.required if name not in kwargs]
        if missing:
            raise RequestError(f"{self.label} needs {', '.join(map(repr, missing))} in the request body")

    def _is_batchable(self, kwargs: Mapping[str, Any]) -> bool:
        return self.batch_arg is not None and isinstance(kwargs.get(self.batch_arg), list)

    def _call_one(self, item: _Pending) -> PredictReply:
        try:
            return self._success(item.call, self.loaded.method(**item.kwargs), 1)
        except CLIENT_ERRORS as error:
            return self._error_reply(item.call, Code.PREDICT_FAILED, _message(error), 400, 1)
        except Exception as error:
            logger.exception("%s failed on request %s", self.label, item.call.request_id)
            return self._error_reply(item.call, Code.PREDICT_FAILED, _message(error), 500, 1)

    def _call_batch(self, chunk: list[_Pending]) -> None:
        if len(chunk) == 1:
            chunk[0].reply = self._call_one(chunk[0])
            return
        key = self.batch_arg or ""
        merged = [value for item in chunk for value in item.kwargs[key]]
        try:
            results = self.loaded.method(**{**chunk[0].kwargs, key: merged})
        except Exception:
            for item in chunk:  # isolate the bad request: only it fails
                item.reply = self._call_one(item)
            return
        if not isinstance(results, list | tuple) or len(results) != len(merged):
            count = len(results) if isinstance(results, list | tuple) else type(results).__name__
            message = (
                f"{self.label} returned {count} results for {len(merged)} inputs; it must return one each"
            )
            for item in chunk:
                item.reply = self._error_reply(item.call, Code.PREDICT_FAILED, message, 500, len(chunk))
            return
        start = 0
        for item in chunk:
            size = len(item.kwargs[key])
            item.reply = self._success(item.call, list(results[start : start + size]), len(chunk))
            start += size

    def _success(self, call: PredictCall, results: Any, batch_size: int) -> PredictReply:
        try:
            return PredictReply(call.request_id, 200, envelope.success(results), batch_size)
        except TypeError as error:
            message = f"{self.label} returned a result that cannot be sent as JSON: {error}"
            return self._error_reply(call, Code.PREDICT_FAILED, message, 500, batch_size)

    def _error_reply(
        self, call: PredictCall, code: Code, message: str, status: int, batch_size: int = 0
    ) -> PredictReply:
        return PredictReply(call.request_id, status, envelope.failure(code, message), batch_size)


def _message(error: BaseException) -> str:
    text = str(error)
    return text if text else type(error).__name__


def _group_compatible(items: list[_Pending], batch_arg: str) -> list[list[_Pending]]:
    """Requests whose arguments other than ``batch_arg`` are equal, in arrival order."""
    groups: dict[bytes, list[_Pending]] = {}
    for item in items:
        others = {key: value for key, value in item.kwargs.items() if key != batch_arg}
        try:
            key = orjson.dumps(others, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
        except TypeError:
            key = repr(id(item)).encode()
        groups.setdefault(key, []).append(item)
    return list(groups.values())


def _chunks(group: list[_Pending], batch_arg: str, max_items: int) -> list[list[_Pending]]:
    """Consecutive runs of requests holding at most ``max_items`` inputs (a bigger request runs alone)."""
    chunks: list[list[_Pending]] = []
    current: list[_Pending] = []
    count = 0
    for item in group:
        size = len(item.kwargs[batch_arg])
        if current and count + size > max_items:
            chunks.append(current)
            current, count = [], 0
        current.append(item)
        count += size
    if current:
        chunks.append(current)
    return chunks
