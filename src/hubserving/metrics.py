"""Prometheus metrics of one server, kept in the front process.

Every request passes through the front, so one registry there sees all of them: the counts are
correct across worker processes without prometheus-client's multiprocess mode (which exists for
servers whose HTTP workers are separate processes).

The three series every request updates (requests, latency, batch size) are plain counters read at
scrape time (``RequestStats``): prometheus-client's own metrics take a lock and look up their labels
on each update, a tenth of the front's own work per request.
"""

from __future__ import annotations

import itertools
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Buckets:
    """One histogram series: counts per bucket (the last one past every bound) and the sum."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.labels = [str(floatToGoString(bound)) for bound in bounds]  # type: ignore[no-untyped-call]
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0
        self.created = time.time()

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1  # a bucket counts values <= its bound
        self.total += value

    def add_to(self, family: HistogramMetricFamily, module: str) -> None:
        cumulative = list(itertools.accumulate(self.counts))
        buckets = [(label, float(count)) for label, count in zip(self.labels, cumulative, strict=False)]
        family.add_metric([module], [*buckets, ("+Inf", float(cumulative[-1]))], self.total)
        family.samples.append(Sample(f"{family.name}_created", {"module": module}, self.created))


class RequestStats(Collector):
    """Requests by module and status, their latency and the batches that answered them, by module."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str], list[float]] = {}  # (module, status) -> [count, created]
        self.latency: dict[str, Buckets] = {}
        self.batch: dict[str, Buckets] = {}

    def add_module(self, module: str) -> None:
        if module not in self.latency:
            self.latency[module] = Buckets(LATENCY_BUCKETS_S)
            self.batch[module] = Buckets(BATCH_BUCKETS)

    def observe(self, module: str, http_status: int, seconds: float, batch_size: int) -> None:
        count = self.requests.get((module, str(http_status)))
        if count is None:
            count = self.requests[(module, str(http_status))] = [0.0, time.time()]
        count[0] += 1
        latency = self.latency.get(module)
        if latency is None:
            self.add_module(module)
            latency = self.latency[module]
        latency.observe(seconds)
        if batch_size:
            self.batch[module].observe(batch_size)

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "hub_requests",
            "Prediction requests answered, by module and HTTP status",
            labels=["module", "http_status"],
        )
        for (module, status), (count, created) in self.requests.items():
            requests.add_metric([module, status], count, created)
        yield requests
        yield self._histogram(
            "hub_request_duration_seconds", "Time from a request's arrival to its answer", self.latency
        )
        yield self._histogram(
            "hub_batch_size", "Requests merged into the model call that answered each request", self.batch
        )

    @staticmethod
    def _histogram(name: str, documentation: str, series: dict[str, Buckets]) -> HistogramMetricFamily:
        family = HistogramMetricFamily(name, documentation, labels=["module"])
        for module, buckets in series.items():
            buckets.add_to(family, module)
        return family


class ServerMetrics:
    """The server's counters, histograms and gauges, in a registry of its own."""

    def __init__(self, modules: Iterable[str]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.stats = RequestStats()
        self.registry.register(self.stats)
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
        self._modules: set[str] = set()
        self._depth_of: Callable[[str], int] = lambda module: 0
        self._ready_of: Callable[[str], int] = lambda module: 0
        for module in modules:
            self.add_module(module)

    def add_module(self, module: str) -> None:
        """Series for a module (at start, and when one is loaded at run time)."""
        if module in self._modules:
            return
        self._modules.add(module)
        self.stats.add_module(module)
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
        if module not in self._modules:
            self.add_module(module)
        self.stats.observe(module, http_status, seconds, batch_size)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
