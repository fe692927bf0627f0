"""Prometheus metrics of one operator: what the pools hold now, and what happened.

One `Metrics` per operator process (the handlers' Runtime holds it), each with its own
`CollectorRegistry`: the tests run several operators in one process, and a global registry
would mix their counts. Units are base units (seconds, dollars); labels are bounded
(namespace, pool, provider, state, condition, status, result, reason) and never carry a task
name or a prompt. No call here raises on a label value: a state or reason outside the known
set is counted as `unknown` / `Other`, so a metrics slip never breaks a reconciliation.

What the handlers call (`m` is the Runtime's Metrics):

- `m.observe_pool(namespace, pool, provider=…, max_workers=…, workers=[…], agents=[…],
  tasks=[…], queue_depth=…)` after each pool pass: a snapshot read at scrape time, so the
  gauges `orchestrator_workers`, `orchestrator_agent_state`, `orchestrator_tasks`,
  `orchestrator_task_queue_depth`, `orchestrator_pool_max_workers` and `orchestrator_pool_info`
  always describe the latest pass; `valid_for` lets a snapshot expire (a replica that stopped
  observing stops reporting). `m.forget_pool(namespace, pool)` when a pool is deleted.
- `m.task_finished(namespace, pool, result=…, reason=…)` once per task that ends.
- `m.dispatched(namespace, pool, seconds)`: task created → prompt delivered.
- `m.provisioned(namespace, pool, seconds, result=…)`: one provisioning run, either way.
- `m.polled(namespace, pool, seconds)`: every poll, successful or not (the alert on poll
  errors is a ratio of the two); `m.poll_error(namespace, pool, reason)` for a failed one.
- `m.api_request(verb, resource)`: every request of the operator's own client to the API
  (kopf's watches and its own patches are not counted), so a reconciler that reads too much
  shows in `orchestrator_api_requests_total`.
- `m.task_cost(namespace, pool, usd)` by what a task's cost grew (its transcript is read
  while it runs and once more when it ends), so the counter is the pool's spend so far.
- `async with m.serve(port=…, host=…) as url:` serves `GET /metrics` (text or OpenMetrics,
  as the scraper asks) on the operator's metrics port, beside kopf's liveness probe.
"""

from __future__ import annotations

import contextlib
import dataclasses
import platform
import re
import time
from collections import Counter as Tally
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from sprite_orchestrator import __version__

# The bounded label values. Workers as the pool plans with them; agents as window 1 names them.
WORKER_STATES = ("idle", "busy", "provisioning", "failed")
AGENT_STATES = ("agent:waiting", "agent:running", "agent:completed", "agent:error", "unknown")
TASK_CONDITIONS = ("Scheduled", "Delivered", "NeedsInput", "Succeeded")
CONDITION_STATUSES = ("True", "False", "Unknown")
RESULTS = ("succeeded", "failed")
UNKNOWN = "unknown"
OTHER_REASON = "Other"
_REASON = re.compile(r"[A-Z][A-Za-z0-9]{0,63}")

# Dispatch includes provisioning a new worker when none is warm: up to half an hour.
DISPATCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
PROVISION_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 900, 1800)
POLL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

POOL = ("namespace", "pool")


def reason_label(reason: str) -> str:
    """A CamelCase reason as it is, anything else as `Other`: reasons stay a bounded set."""
    return reason if _REASON.fullmatch(reason) else OTHER_REASON


def worker_state(*, bound: bool, failed: bool, ready: bool) -> str:
    """A worker's state label: busy when bound, failed when provisioning failed, idle when
    ready for a task; anything else (starting, recovering) counts as provisioning."""
    if bound:
        return "busy"
    if failed:
        return "failed"
    return "idle" if ready else "provisioning"


def _known(value: str | None, allowed: tuple[str, ...]) -> str:
    return value if value in allowed else UNKNOWN


@dataclasses.dataclass(frozen=True)
class PoolSnapshot:
    """What one pool pass saw, counted; turned into gauges at scrape time."""

    provider: str
    max_workers: int
    workers: Mapping[str, int]
    agents: Mapping[str, int]
    tasks: Mapping[tuple[str, str], int]
    queue_depth: int
    observed_at: float
    valid_for: float | None


def _snapshot_gauges(snapshots: Mapping[tuple[str, str], PoolSnapshot]) -> Iterator[Metric]:
    """The pool gauges; every known state is reported, zeros included, so a count that
    drops to zero is a 0 and not a series that vanishes (alerts would never resolve)."""
    info = GaugeMetricFamily(
        "orchestrator_pool_info",
        "A WorkerPool and its provider (always 1).",
        labels=[*POOL, "provider"],
    )
    max_workers = GaugeMetricFamily(
        "orchestrator_pool_max_workers", "spec.scaling.maxWorkers of the pool.", labels=POOL
    )
    workers = GaugeMetricFamily(
        "orchestrator_workers", "Workers of the pool by state.", labels=[*POOL, "state"]
    )
    agents = GaugeMetricFamily(
        "orchestrator_agent_state",
        "Agents of the pool by window-1 state (agent:waiting|running|completed|error).",
        labels=[*POOL, "state"],
    )
    tasks = GaugeMetricFamily(
        "orchestrator_tasks",
        "AgentTasks of the pool by condition type and status.",
        labels=[*POOL, "condition", "status"],
    )
    queue = GaugeMetricFamily(
        "orchestrator_task_queue_depth", "Tasks of the pool waiting for a worker.", labels=POOL
    )
    for (namespace, pool), snap in sorted(snapshots.items()):
        key = [namespace, pool]
        info.add_metric([*key, snap.provider], 1)
        max_workers.add_metric(key, snap.max_workers)
        for state in WORKER_STATES:
            workers.add_metric([*key, state], snap.workers.get(state, 0))
        for state in AGENT_STATES:
            agents.add_metric([*key, state], snap.agents.get(state, 0))
        for condition in TASK_CONDITIONS:
            for status in CONDITION_STATUSES:
                tasks.add_metric([*key, condition, status], snap.tasks.get((condition, status), 0))
        queue.add_metric(key, snap.queue_depth)
    yield from (info, max_workers, workers, agents, tasks, queue)


class _PoolCollector(Collector):
    """Reads the latest snapshot of each pool at scrape time, dropping expired ones."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.snapshots: dict[tuple[str, str], PoolSnapshot] = {}

    def collect(self) -> Iterable[Metric]:
        now = self.clock()
        fresh = {
            key: snap
            for key, snap in self.snapshots.items()
            if snap.valid_for is None or now - snap.observed_at <= snap.valid_for
        }
        return list(_snapshot_gauges(fresh))


class Metrics:
    """The metrics of one operator process, in a registry of its own."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._pools = _PoolCollector(clock)
        self._clock = clock
        self._started: set[tuple[str, str]] = set()
        self.registry.register(self._pools)
        r = self.registry
        up = Gauge("orchestrator_up", "1 while the operator serves metrics.", registry=r)
        up.set(1)
        build = Info("orchestrator_build", "Version of the operator.", registry=r)
        build.info({"version": __version__, "python": platform.python_version()})
        self._finished = Counter(
            "orchestrator_tasks_finished",
            "AgentTasks that ended, by result and reason.",
            [*POOL, "result", "reason"],
            registry=r,
        )
        self._dispatch = Histogram(
            "orchestrator_dispatch_seconds",
            "From a task's creation to its prompt delivered to an agent.",
            POOL,
            buckets=DISPATCH_BUCKETS,
            registry=r,
        )
        self._provision = Histogram(
            "orchestrator_provision_seconds",
            "Duration of one provisioning run of a worker, by result.",
            [*POOL, "result"],
            buckets=PROVISION_BUCKETS,
            registry=r,
        )
        self._poll = Histogram(
            "orchestrator_poll_seconds",
            "Duration of one poll of a worker (one exec), failed polls included.",
            POOL,
            buckets=POLL_BUCKETS,
            registry=r,
        )
        self._poll_errors = Counter(
            "orchestrator_poll_errors",
            "Polls of a worker that failed, by reason.",
            [*POOL, "reason"],
            registry=r,
        )
        self._requests = Counter(
            "orchestrator_api_requests",
            "Requests of the operator to the Kubernetes API, by verb and resource.",
            ["verb", "resource"],
            registry=r,
        )
        self._cost = Counter(
            "orchestrator_task_cost_usd",
            "What the agents' sessions of tasks cost so far, in US dollars.",
            POOL,
            registry=r,
        )

    # -- the pool's state, observed each pass -----------------------------------------------

    def observe_pool(
        self,
        namespace: str,
        pool: str,
        *,
        provider: str,
        max_workers: int,
        workers: Iterable[str],
        agents: Iterable[str | None],
        tasks: Iterable[Mapping[str, str]],
        queue_depth: int,
        valid_for: float | None = None,
    ) -> None:
        """Replace the pool's snapshot.

        `workers` holds one state per worker (see `worker_state`), `agents` one window-1
        name per worker (None when unknown), `tasks` one `{condition type: status}` per task.
        """
        self._start_series(namespace, pool)
        task_counts: Tally[tuple[str, str]] = Tally()
        for conditions in tasks:
            for condition, status in conditions.items():
                if condition in TASK_CONDITIONS and status in CONDITION_STATUSES:
                    task_counts[condition, status] += 1
        self._pools.snapshots[namespace, pool] = PoolSnapshot(
            provider=provider,
            max_workers=max_workers,
            workers=Tally(_known(s, WORKER_STATES) for s in workers),
            agents=Tally(_known(s, AGENT_STATES) for s in agents),
            tasks=task_counts,
            queue_depth=queue_depth,
            observed_at=self._clock(),
            valid_for=valid_for,
        )

    def _start_series(self, namespace: str, pool: str) -> None:
        """Create the series the alerts count at zero, once per pool: `increase()` sees
        nothing of a series whose first sample is already 1, so the first AgentError or
        failed provisioning would go unnoticed."""
        if (namespace, pool) in self._started:
            return
        self._started.add((namespace, pool))
        self._finished.labels(namespace, pool, "failed", "AgentError")
        self._finished.labels(namespace, pool, "succeeded", "AgentCompleted")
        self._dispatch.labels(namespace, pool)
        self._poll.labels(namespace, pool)
        for result in RESULTS:
            self._provision.labels(namespace, pool, result)

    def forget_pool(self, namespace: str, pool: str) -> None:
        """The pool is gone: its gauges go too (its counters stay, as counters do)."""
        self._pools.snapshots.pop((namespace, pool), None)

    # -- events ---------------------------------------------------------------------------

    def task_finished(self, namespace: str, pool: str, *, result: str, reason: str) -> None:
        """A task ended: result `succeeded` or `failed`, reason from its Succeeded condition."""
        label = result if result in RESULTS else UNKNOWN
        self._finished.labels(namespace, pool, label, reason_label(reason)).inc()

    def dispatched(self, namespace: str, pool: str, seconds: float) -> None:
        self._dispatch.labels(namespace, pool).observe(max(0.0, seconds))

    def provisioned(
        self, namespace: str, pool: str, seconds: float, *, result: str = "succeeded"
    ) -> None:
        label = result if result in RESULTS else UNKNOWN
        self._provision.labels(namespace, pool, label).observe(max(0.0, seconds))

    def polled(self, namespace: str, pool: str, seconds: float) -> None:
        self._poll.labels(namespace, pool).observe(max(0.0, seconds))

    def poll_error(self, namespace: str, pool: str, reason: str) -> None:
        self._poll_errors.labels(namespace, pool, reason_label(reason)).inc()

    def api_request(self, verb: str, resource: str) -> None:
        self._requests.labels(verb, resource).inc()

    def task_cost(self, namespace: str, pool: str, usd: float) -> None:
        if usd > 0:
            self._cost.labels(namespace, pool).inc(usd)

    # -- exposition -----------------------------------------------------------------------

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The registry in the format the `Accept` header asks for, and its content type."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type

    async def _handle(self, request: web.Request) -> web.Response:
        body, content_type = self.exposition(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})

    @contextlib.asynccontextmanager
    async def serve(self, *, port: int, host: str = "0.0.0.0") -> AsyncIterator[str]:  # noqa: S104
        """Serve `GET /metrics` in the running loop until the block ends; yields its URL.

        aiohttp in the operator's own loop rather than prometheus-client's thread: no thread
        to stop, and port 0 (a free port, for tests) reports the port it got.
        """
        app = web.Application()
        app.router.add_get("/metrics", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            bound = runner.addresses[0][1]
            reachable = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
            yield f"http://{reachable}:{bound}/metrics"
        finally:
            await runner.cleanup()
