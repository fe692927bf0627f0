"""What the handlers share in one operator process: the API, providers, wake-ups, clocks."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import pathlib
import time
from collections.abc import Callable
from typing import Any

from sprite_orchestrator.handlers import cache, providing
from sprite_orchestrator.kube import Kube, passing
from sprite_orchestrator.metrics import Metrics
from sprite_orchestrator.models.pool import ProviderSpec, WorkerPoolSpec
from sprite_orchestrator.providers.base import Provider

Key = tuple[str, str, str]  # (plural, namespace, name)


def iso(seconds: float) -> str:
    """RFC 3339 in UTC to the second, as status timestamps are written."""
    stamp = datetime.datetime.fromtimestamp(int(seconds), datetime.UTC)
    return stamp.isoformat().replace("+00:00", "Z")


def iso_micro(seconds: float) -> str:
    """RFC 3339 in UTC to the microsecond, always 6 digits, so such stamps sort as text."""
    stamp = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return stamp.isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_iso(value: str | None) -> float | None:
    """Seconds since the epoch of an RFC 3339 timestamp, or None."""
    if not value:
        return None
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@dataclasses.dataclass
class Runtime:
    """One per operator process; handlers reach it through kopf's memo."""

    kube: Kube
    state_dir: pathlib.Path
    # Per (namespace, pool): the provider, and the `spec.provider` it was built from.
    providers: dict[tuple[str, str], tuple[ProviderSpec, Provider]] = dataclasses.field(
        default_factory=dict
    )
    retiring: set[asyncio.Task[None]] = dataclasses.field(default_factory=set)
    wakeups: dict[Key, asyncio.Event] = dataclasses.field(default_factory=dict)
    failures: dict[Key, int] = dataclasses.field(default_factory=dict)
    retry_at: dict[Key, float] = dataclasses.field(default_factory=dict)  # the loop's clock
    # Per (namespace, pool): the WorkerPool as its watch last delivered it. Every worker poll
    # needs its pool's spec; reading it from the watch saves a request per poll.
    pools: dict[tuple[str, str], dict[str, Any]] = dataclasses.field(default_factory=dict)
    # The tasks as their watch delivered them (the pools plan from these), and the Workers'
    # planning views (a pool wakes when one changes): see handlers/cache.py.
    tasks: cache.Tasks = dataclasses.field(default_factory=cache.Tasks)
    workers: cache.Workers = dataclasses.field(default_factory=cache.Workers)
    # Per (namespace, pool): loop time of the last look for machines without a Worker.
    adopted: dict[tuple[str, str], float] = dataclasses.field(default_factory=dict)
    # Wall-clock seconds for timestamps and deadlines kept in status (they outlive the
    # process, so not the loop's clock); tests move it forward. Sleeping uses the loop's clock.
    clock: Callable[[], float] = time.time
    metrics: Metrics = dataclasses.field(default_factory=Metrics)

    def now(self) -> float:
        return self.clock()

    def stamp(self) -> str:
        """Now, as a status timestamp."""
        return iso(self.clock())

    def backoff(self, key: Key, error: BaseException | None = None) -> float:
        """Seconds to wait after another failure: 5, 10, 20, … up to 5 minutes; after the
        API server's passing trouble (kube.passing), 1, 2, 4, … up to 30 s: a task waits
        on the retry, and the next request usually works."""
        count = self.failures.get(key, 0)
        self.failures[key] = count + 1
        if error is not None and passing(error):
            delay = float(min(30, 2**count))
        else:
            delay = float(min(300, 5 * 2**count))
        self.retry_at[key] = asyncio.get_running_loop().time() + delay
        return delay

    def hold_off(self, key: Key, seconds: float) -> float:
        """Wait `seconds` (what an API asked for) before the next try, counting no failure."""
        delay = max(1.0, seconds)
        self.retry_at[key] = asyncio.get_running_loop().time() + delay
        return delay

    def backing_off(self, key: Key) -> float:
        """Seconds left of the last backoff: a wake-up (our own status write) ends no backoff."""
        due = self.retry_at.get(key)
        return 0.0 if due is None else max(0.0, due - asyncio.get_running_loop().time())

    def succeeded(self, key: Key) -> None:
        self.failures.pop(key, None)
        self.retry_at.pop(key, None)

    def provider_for(self, namespace: str, pool: str, spec: WorkerPoolSpec) -> Provider:
        """The provider of a pool's machines, kept while the pool's `spec.provider` stays.

        A changed provider spec (an inventory, a user, a Secret reference) builds a new one
        and closes the old one's connections. Building does no I/O: a provider that needs
        Secrets reads them when it connects, so a Secret rotated in place is used from the
        next connection on, with no spec change.
        """
        key = (namespace, pool)
        kept = self.providers.get(key)
        if kept is not None and kept[0] == spec.provider:
            return kept[1]
        provider = providing.build(self.kube, self.state_dir, namespace, pool, spec)
        self.providers[key] = (spec.provider, provider)
        if kept is not None:
            task = asyncio.get_running_loop().create_task(kept[1].close())
            self.retiring.add(task)
            task.add_done_callback(self.retiring.discard)
        return provider

    async def close(self) -> None:
        for _, provider in self.providers.values():
            with contextlib.suppress(Exception):
                await provider.close()
        await asyncio.gather(*self.retiring, return_exceptions=True)
        self.kube.close()

    def _event(self, key: Key) -> asyncio.Event:
        return self.wakeups.setdefault(key, asyncio.Event())

    def wake(self, plural: str, namespace: str, name: str) -> None:
        """Cut a reconciler's sleep short: something it cares about changed."""
        self._event((plural, namespace, name)).set()

    async def sleep(self, key: Key, seconds: float, stopped: Any) -> None:
        """Sleep on the loop's clock until woken, stopped, or `seconds` pass."""
        event = self._event(key)
        if not event.is_set():
            waiters = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(stopped.wait())]
            try:
                await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
        event.clear()

    def kept_worker(self, body: dict[str, Any]) -> None:
        """A Worker as the operator just wrote it: kept, and its pool woken if that matters
        to it (the watch event that follows will find nothing new)."""
        pool, _ = self.workers.changed("MODIFIED", body)
        if pool:
            self.wake("workerpools", body["metadata"]["namespace"], body["spec"].get("pool", ""))

    def forget(self, key: Key) -> None:
        self.wakeups.pop(key, None)
        self.succeeded(key)
