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
from hubserving.errors import Code, ModuleLoadError, RequestError
from hubserving.module.loader import LoadedModule
from hubserving.runtime.messages import PredictCall, PredictReply

logger = logging.getLogger("hubserving.worker")


@dataclass(frozen=True)
class BatchPolicy:
    """Whether and how far this module's requests are merged, and how long a batch may wait to fill."""

    enabled: bool
    max_batch_size: int
    max_wait_s: float = 0.0


@dataclass(eq=False)  # compared by identity: field-wise equality made ``handle`` quadratic
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
        self.label = loaded.signature.label
        self.batch_arg = loaded.spec.batch_arg if policy.enabled else None
        try:
            loaded.signature.check_given(self.predict_args)
        except RequestError as error:
            raise ModuleLoadError(f"predict_args of {name}: {error}") from None

    def handle(self, calls: Sequence[PredictCall]) -> list[PredictReply]:
        """One reply per call, in order."""
        pending: list[_Pending] = []
        for call in calls:
            try:
                pending.append(_Pending(call, self.arguments(call.body)))
            except RequestError as error:
                pending.append(_Pending(call, {}, self._error_reply(call, error.code, str(error))))
        batchable: list[_Pending] = []
        for item in pending:
            if item.reply is not None:
                continue
            if self._is_batchable(item.kwargs):
                batchable.append(item)
            else:
                item.reply = self._call_one(item)
        for group in _group_compatible(batchable, self.batch_arg or ""):
            for chunk in _chunks(group, self.batch_arg or "", self.policy.max_batch_size):
                self._call_batch(chunk)
        return [item.reply for item in pending if item.reply is not None]

    def arguments(self, body: bytes | bytearray) -> dict[str, Any]:
        """The keyword arguments for one request: ``predict_args`` overridden by the body, checked."""
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
        self.loaded.signature.check(kwargs)
        return kwargs

    def _is_batchable(self, kwargs: Mapping[str, Any]) -> bool:
        return self.batch_arg is not None and isinstance(kwargs.get(self.batch_arg), list)

    def _call_one(self, item: _Pending, batch_size: int = 1) -> PredictReply:
        try:
            results = self.loaded.method(**item.kwargs)
        except RequestError as error:
            return self._error_reply(item.call, error.code, str(error), batch_size)
        except Exception as error:
            logger.exception("%s failed on request %s", self.label, item.call.request_id)
            message = f"{self.label} failed: {_message(error)} (the traceback is in the worker's log)"
            return self._error_reply(item.call, Code.PREDICT_FAILED, message, batch_size)
        if self._is_batchable(item.kwargs):
            problem = self._count_problem(results, len(item.kwargs[self.batch_arg or ""]))
            if problem is not None:
                return self._error_reply(item.call, Code.PREDICT_FAILED, problem, batch_size)
        return self._success(item.call, results, batch_size)

    def _count_problem(self, results: Any, inputs: int) -> str | None:
        """Why a batch method's results do not fit its inputs, or None when there is one per input."""
        if isinstance(results, list | tuple) and len(results) == inputs:
            return None
        count = len(results) if isinstance(results, list | tuple) else type(results).__name__
        problem = f"{self.label} returned {count} results for {inputs} inputs; it must return one each"
        logger.error("%s", problem)
        return problem

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
                item.reply = self._call_one(item, len(chunk))
            return
        problem = self._count_problem(results, len(merged))
        if problem is not None:
            for item in chunk:
                item.reply = self._error_reply(item.call, Code.PREDICT_FAILED, problem, len(chunk))
            return
        start = 0
        for item in chunk:
            size = len(item.kwargs[key])
            item.reply = self._success(item.call, list(results[start : start + size]), len(chunk))
            start += size

    def _success(self, call: PredictCall, results: Any, batch_size: int) -> PredictReply:
        try:
            return PredictReply(call.request_id, Code.OK.http_status, envelope.success(results), batch_size)
        except TypeError as error:
            message = f"{self.label} returned a result that cannot be sent as JSON: {error}"
            logger.error("%s", message)
            return self._error_reply(call, Code.PREDICT_FAILED, message, batch_size)

    def _error_reply(self, call: PredictCall, code: Code, message: str, batch_size: int = 0) -> PredictReply:
        return PredictReply(call.request_id, code.http_status, envelope.failure(code, message), batch_size)


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
