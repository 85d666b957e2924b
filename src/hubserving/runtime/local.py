"""The modules' worker pools on this machine, behind the front's ``Predictor`` interface.

Each module has its own pool, so a slow module never delays another and each worker loads one
module. Modules can be loaded, unloaded and reloaded (rolling) while the server runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psutil

from hubserving.errors import Code
from hubserving.runtime.messages import ModuleDescription, ModuleSpec, PredictReply, WorkerSetup
from hubserving.runtime.pool import PoolSettings, WorkerPool, WorkerStartError, failure_reply


@dataclass(frozen=True)
class ModulePlan:
    """One module to run: what its workers load, how many there are, the card each sees (None: CPU)."""

    spec: ModuleSpec
    workers: int
    cards: tuple[str | None, ...] = ()  # by worker position, repeating; empty: all on the CPU

    @property
    def on_gpu(self) -> bool:
        return any(card is not None for card in self.cards)

    def card_of(self, position: int) -> str | None:
        return self.cards[position % len(self.cards)] if self.cards else None

    @property
    def name(self) -> str:
        return self.spec.name


class ModuleStartError(WorkerStartError):
    """A module's workers could not load it; the message names the module."""


# (the module's plan, its first worker number) -> the pool's settings
SettingsFor = Callable[[ModulePlan, int], PoolSettings]


class LocalPredictor:
    """Routes each request to its module's pool; adds, removes and reloads pools."""

    def __init__(
        self, plans: Sequence[ModulePlan], template: WorkerSetup, settings_for: SettingsFor, drain_s: float
    ) -> None:
        self.plans = tuple(plans)  # the modules to start with
        self.template = template  # what every worker's setup shares (GPU use, logs, memory limit)
        self.settings_for = settings_for
        self.drain_s = drain_s
        self.pools: dict[str, WorkerPool] = {}
        self._next_index = 0
        self._changing: set[str] = set()  # modules being loaded, unloaded or reloaded

    # --- the Predictor interface

    async def predict(self, module: str, body: bytes | bytearray) -> PredictReply:
        pool = self.pools.get(module)
        if pool is None:
            return failure_reply(Code.MODULE_NOT_AVAILABLE, f"Module {module} is not available.")
        return await pool.predict(body)

    def serves(self, module: str) -> bool:
        return module in self.pools

    @property
    def module_names(self) -> frozenset[str]:
        return frozenset(self.pools)

    @property
    def ready(self) -> bool:
        return bool(self.pools) and all(pool.ready for pool in self.pools.values())

    @property
    def descriptions(self) -> tuple[ModuleDescription, ...]:
        return tuple(pool.description for pool in self.pools.values() if pool.description is not None)

    @property
    def depth(self) -> Mapping[str, int]:
        return {name: pool.depth for name, pool in self.pools.items()}

    def pids(self) -> list[int]:
        return [pid for pool in self.pools.values() for pid in pool.pids()]

    def ready_workers(self) -> int:
        return sum(pool.ready_workers() for pool in self.pools.values())

    def module_ready_workers(self, module: str) -> int:
        pool = self.pools.get(module)
        return pool.ready_workers() if pool is not None else 0

    def module_workers(self) -> dict[str, dict[str, Any]]:
        """Per module: how many workers are ready, and each worker (pid, state, restarts, memory)."""
        return {
            name: {"ready": pool.ready_workers(), "of": pool.settings.count, "workers": _workers(pool)}
            for name, pool in self.pools.items()
        }

    # --- lifecycle

    def _new_pool(self, plan: ModulePlan) -> WorkerPool:
        setup = dataclasses.replace(self.template, modules=(plan.spec,), use_gpu=plan.on_gpu)
        pool = WorkerPool(setup, self.settings_for(plan, self._next_index))
        self._next_index += plan.workers
        return pool

    async def start(self) -> None:
        for plan in self.plans:
            self.pools[plan.name] = self._new_pool(plan)
        for pool in self.pools.values():
            await pool.start()

    async def wait_ready(self) -> None:
        """Return when every module is loaded; raise ModuleStartError naming the first that failed."""
        waiting = {asyncio.ensure_future(pool.wait_ready()): name for name, pool in self.pools.items()}
        try:
            for finished in asyncio.as_completed(waiting):
                await finished
        except WorkerStartError as error:
            failed = next(name for task, name in waiting.items() if task.done() and task.exception())
            raise ModuleStartError(f"{failed}: {error}") from None
        finally:
            for task in waiting:
                task.cancel()

    async def load(self, plan: ModulePlan) -> None:
        """Start a module's workers; it answers requests once they are all ready."""
        self._claim(plan.name)
        try:
            if plan.name in self.pools:
                raise ModuleStartError(f"{plan.name} is already served; reload it instead")
            pool = self._new_pool(plan)
            await pool.start()
            try:
                await pool.wait_ready()
            except WorkerStartError as error:
                await pool.stop()
                raise ModuleStartError(f"{plan.name}: {error}") from None
            self.pools[plan.name] = pool
        finally:
            self._changing.discard(plan.name)

    async def unload(self, name: str) -> None:
        """Stop routing to a module, let its running requests finish, stop its workers."""
        self._claim(name)
        try:
            pool = self.pools.pop(name, None)
            if pool is None:
                raise ModuleStartError(f"{name} is not served")
            await pool.drain_and_stop(self.drain_s)
        finally:
            self._changing.discard(name)

    async def reload(self, spec: ModuleSpec) -> None:
        """Rolling reload of one module: new workers first, then the switch; old ones finish their work."""
        self._claim(spec.name)
        try:
            pool = self.pools.get(spec.name)
            if pool is None:
                raise ModuleStartError(f"{spec.name} is not served")
            try:
                await pool.reload(dataclasses.replace(pool.setup, modules=(spec,)))
            except WorkerStartError as error:
                raise ModuleStartError(f"{error}; the running workers go on serving") from None
        finally:
            self._changing.discard(spec.name)

    def _claim(self, name: str) -> None:
        if name in self._changing:
            raise ModuleStartError(
                f"{name} is being loaded, unloaded or reloaded already; try again when that ends"
            )
        self._changing.add(name)

    async def stop(self) -> None:
        await asyncio.gather(*(pool.stop() for pool in self.pools.values()))


def _workers(pool: WorkerPool) -> list[dict[str, Any]]:
    described = []
    for worker in pool.all_workers():
        entry = worker.describe()
        try:
            entry["memory_mb"] = round(psutil.Process(worker.pid).memory_info().rss / 1024 / 1024)
        except psutil.Error:
            entry["memory_mb"] = None
        described.append(entry)
    return described
