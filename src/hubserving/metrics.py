"""Prometheus metrics of one server, kept in the front process.

Every request passes through the front, so one registry there sees all of them: the counts are
correct across worker processes without prometheus-client's multiprocess mode (which exists for
servers whose HTTP workers are separate processes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ServerMetrics:
    """The server's counters, histograms and gauges, in a registry of its own."""

    def __init__(self, modules: Iterable[str]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "hub_requests",
            "Prediction requests answered, by module and HTTP status",
            ["module", "http_status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hub_request_duration_seconds",
            "Time from a request's arrival to its answer",
            ["module"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "hub_batch_size",
            "Requests merged into the model call that answered each request",
            ["module"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "hub_queue_depth",
            "Requests waiting or running, by module",
            ["module"],
            registry=self.registry,
        )
        self.worker_restarts = Counter(
            "hub_worker_restarts",
            "Worker processes replaced after dying or hanging",
            registry=self.registry,
        )
        self.unauthorized = Counter(
            "hub_unauthorized_requests",
            "Requests refused (401) for a missing or wrong API key, on any route",
            registry=self.registry,
        )
        self.workers_ready = Gauge("hub_workers_ready", "Worker processes ready", registry=self.registry)
        self.module_workers_ready = Gauge(
            "hub_module_workers_ready",
            "Worker processes ready, by module",
            ["module"],
            registry=self.registry,
        )
        self.retries = Counter(
            "hub_retried_requests",
            "Requests sent once more to another worker because theirs died, by module",
            ["module"],
            registry=self.registry,
        )
        self.module_events = Counter(
            "hub_module_events",
            "Modules loaded, unloaded and reloaded while the server runs",
            ["module", "event"],
            registry=self.registry,
        )
        self._latency: dict[str, Histogram] = {}
        self._batch: dict[str, Histogram] = {}
        self._depth_of: Callable[[str], int] = lambda module: 0
        self._ready_of: Callable[[str], int] = lambda module: 0
        for module in modules:
            self.add_module(module)

    def add_module(self, module: str) -> None:
        """Series for a module (at start, and when one is loaded at run time)."""
        if module in self._latency:
            return
        self._latency[module] = self.latency.labels(module)
        self._batch[module] = self.batch_size.labels(module)
        self.queue_depth.labels(module).set_function(lambda: self._depth_of(module))
        self.module_workers_ready.labels(module).set_function(lambda: self._ready_of(module))

    def watch_queue(
        self,
        depth_of: Callable[[str], int],
        ready_workers: Callable[[], int],
        module_ready_workers: Callable[[str], int] = lambda module: 0,
    ) -> None:
        """Gauges read at scrape time: no cost per request."""
        self._depth_of = depth_of
        self._ready_of = module_ready_workers
        self.workers_ready.set_function(ready_workers)

    def module_event(self, module: str, event: str) -> None:
        """A module was loaded, unloaded or reloaded."""
        self.add_module(module)
        self.module_events.labels(module, event).inc()

    def observe(self, module: str, http_status: int, seconds: float, batch_size: int) -> None:
        """One answered request of a served module."""
        self.requests.labels(module, str(http_status)).inc()
        latency = self._latency.get(module)
        if latency is None:
            self.add_module(module)
            latency = self._latency[module]
        latency.observe(seconds)
        if batch_size:
            self._batch[module].observe(batch_size)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
