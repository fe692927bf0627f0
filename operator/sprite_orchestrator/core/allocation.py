"""Pool planning: which task goes to which worker, which workers to create or reap.

The seed's allocate-sprite.sh, made level-based: given what is observed now, say what should
be. Never touches a busy worker, never exceeds maxWorkers, keeps minIdle warm, serves the
oldest pending task first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from sprite_orchestrator.core import naming

POOL_EXHAUSTED = "PoolExhausted"
WAITING_FOR_WORKER = "WaitingForWorker"
WORKERS_FAILING = "WorkersFailing"
POOL_DRAINING = "PoolDraining"
# A waiting task's message says why it waits, never where it stands: a position would
# change with every bind and rewrite every queued task's status (O(queue) writes per bind;
# 150 queued tasks made 150 status writes each time one started). Readers compute the
# position from the queue itself (`positions`), as `orchestrator status` does.
WAITS_ITS_TURN = "it waits its turn (priority, then oldest first)"


@dataclasses.dataclass(frozen=True)
class WorkerView:
    """What planning needs to know of one Worker."""

    name: str
    provisioned: bool = False
    failed: bool = False
    task: str | None = None
    deleting: bool = False
    idle_since: float | None = None  # loop-independent seconds; compared with `now` only

    @property
    def ready(self) -> bool:
        """Idle and healthy: may take a task now."""
        return self.provisioned and not self.failed and self.task is None and not self.deleting

    @property
    def coming(self) -> bool:
        """Still provisioning, not yet bound: will be ready for a task soon."""
        return not self.provisioned and not self.failed and self.task is None and not self.deleting


@dataclasses.dataclass(frozen=True)
class TaskView:
    """A pending task: not finished, not bound to any worker."""

    name: str
    created: str  # RFC 3339 to the second (creationTimestamp); sorts chronologically
    priority: int = 0
    # RFC 3339 with microseconds (admission): orders tasks created in the same second, as
    # the API received them; "" (admitted before it was recorded) goes first.
    queued: str = ""


@dataclasses.dataclass(frozen=True)
class Scaling:
    """The pool's scaling intent."""

    min_idle: int = 1
    max_workers: int = 5
    idle_timeout_seconds: int = 1800


@dataclasses.dataclass(frozen=True)
class Wait:
    """Why a task is not bound yet and where it stands in the queue (1-based)."""

    reason: str
    message: str
    position: int


@dataclasses.dataclass(frozen=True)
class Plan:
    """What should happen next in one pool."""

    binds: tuple[tuple[str, str], ...] = ()  # (task, worker)
    create: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()
    waiting: Mapping[str, Wait] = dataclasses.field(default_factory=dict)


def queue(tasks: Sequence[TaskView]) -> list[TaskView]:
    """Pending tasks in service order: higher priority first, then oldest first.

    creationTimestamp has whole seconds; within one, the admission time decides (names are
    random suffixes and would serve the same second's tasks in any order).
    """
    return sorted(tasks, key=lambda t: (-t.priority, t.created, t.queued, t.name))


def _by_index(pool: str, workers: Sequence[WorkerView]) -> list[WorkerView]:
    return sorted(workers, key=lambda w: (naming.worker_index(pool, w.name) or 0, w.name))


def plan(
    pool: str,
    scaling: Scaling,
    workers: Sequence[WorkerView],
    pending: Sequence[TaskView],
    *,
    now: float,
    draining: bool = False,
) -> Plan:
    """Bind, create, reap: the whole decision for one pool, from observations only."""
    if draining:
        return drain(pool, workers, pending)
    idle = _by_index(pool, [w for w in workers if w.ready])
    ordered = queue(pending)
    binds = tuple((t.name, w.name) for t, w in zip(ordered, idle, strict=False))
    rest = ordered[len(binds) :]
    coming = [w for w in workers if w.coming]
    idle_left = idle[len(binds) :]

    spare = max(0, len(coming) - len(rest))
    warm_deficit = max(0, scaling.min_idle - len(idle_left) - spare)
    wanted = max(0, len(rest) - len(coming)) + warm_deficit
    room = max(0, scaling.max_workers - len(workers))
    if any(w.failed and not w.deleting for w in workers):
        room = 0  # a worker that fails to provision would only be joined by more such workers
    create = tuple(naming.next_worker_names(pool, [w.name for w in workers], min(wanted, room)))

    served_soon = len(coming) + len(create)
    failing = [w for w in workers if w.failed and not w.deleting]
    waiting = {
        t.name: _wait(
            pool,
            scaling,
            position,
            served=position <= served_soon,
            failing=bool(failing),
        )
        for position, t in enumerate(rest, start=1)
    }
    delete = _excess(pool, workers, idle_left, scaling)
    if not rest:
        delete += tuple(w for w in _reap(idle_left, scaling, now=now) if w not in delete)
    return Plan(binds=binds, create=create, delete=delete, waiting=waiting)


def drain(pool: str, workers: Sequence[WorkerView], pending: Sequence[TaskView]) -> Plan:
    """A draining pool starts nothing: unbound workers go, busy ones finish first, tasks wait."""
    delete = tuple(w.name for w in _by_index(pool, workers) if w.task is None and not w.deleting)
    ordered = queue(pending)
    message = f"pool {pool} is draining (orchestrator drain {pool} --undo resumes it)"
    waiting = {t.name: Wait(POOL_DRAINING, message, i) for i, t in enumerate(ordered, start=1)}
    return Plan(delete=delete, waiting=waiting)


def positions(pending: Sequence[TaskView]) -> dict[str, tuple[int, int]]:
    """Each pending task's (position, queue length), 1-based, in service order."""
    ordered = queue(pending)
    return {t.name: (i, len(ordered)) for i, t in enumerate(ordered, start=1)}


def _excess(
    pool: str, workers: Sequence[WorkerView], idle: Sequence[WorkerView], scaling: Scaling
) -> tuple[str, ...]:
    """maxWorkers lowered below the count: idle workers go, highest index first."""
    alive = [w for w in workers if not w.deleting]
    surplus = len(alive) - scaling.max_workers
    spare = [w for w in alive if w.task is None and (w in idle or not w.provisioned)]
    spare = _by_index(pool, spare)[::-1]
    return tuple(w.name for w in spare[: max(0, surplus)])


def _wait(pool: str, scaling: Scaling, position: int, *, served: bool, failing: bool) -> Wait:
    if failing and not served:
        message = f"workers of pool {pool} fail to provision (see kubectl get wk); {WAITS_ITS_TURN}"
        return Wait(WORKERS_FAILING, message, position)
    if served:
        message = f"a worker of pool {pool} is being provisioned for it"
        return Wait(WAITING_FOR_WORKER, message, position)
    message = f"all {scaling.max_workers} workers of pool {pool} are busy (maxWorkers); "
    return Wait(POOL_EXHAUSTED, message + WAITS_ITS_TURN, position)


def _reap(idle: Sequence[WorkerView], scaling: Scaling, *, now: float) -> tuple[str, ...]:
    """Idle workers past the idle timeout, longest idle first, never below minIdle."""
    expired = [
        w
        for w in idle
        if w.idle_since is not None and now - w.idle_since > scaling.idle_timeout_seconds
    ]
    expired.sort(key=lambda w: (w.idle_since or 0.0, w.name))
    surplus = max(0, len(idle) - scaling.min_idle)
    return tuple(w.name for w in expired[:surplus])
