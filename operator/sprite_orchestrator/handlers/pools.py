"""WorkerPool reconciliation: bind pending tasks, create and reap workers, report counts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Iterable

import pydantic

from sprite_orchestrator import metrics
from sprite_orchestrator.core import allocation, deadlines
from sprite_orchestrator.core import conditions as c
from sprite_orchestrator.core import tasks as task_states
from sprite_orchestrator.failpoints import failpoint
from sprite_orchestrator.handlers import events, orphans
from sprite_orchestrator.handlers import status as st
from sprite_orchestrator.handlers.objects import (
    POOL_LABEL,
    POOLS,
    TASKS,
    WORKERS,
    is_deleting,
    is_draining,
    is_finished,
    name_of,
    raw_conditions,
    stop_reason,
    task_view,
    worker_body,
    worker_view,
)
from sprite_orchestrator.handlers.runtime import Runtime, parse_iso
from sprite_orchestrator.kube import Body, Conflict, NotFound
from sprite_orchestrator.models import (
    ConditionStatus,
    ObjectRef,
    WorkerPoolSpec,
    WorkerPoolStatus,
    WorkerStatus,
)

logger = logging.getLogger(__name__)

WRITERS = 8  # status writes of one pool pass in flight at once
ALL_BUSY = "AllBusy"  # Ready=False: every worker has a task and maxWorkers allows no more


async def reconcile(rt: Runtime, namespace: str, name: str) -> float:
    """One pass over a pool; returns the seconds until the next unprompted pass."""
    pool = await rt.kube.get(POOLS, namespace, name)
    try:
        spec = WorkerPoolSpec.model_validate(pool["spec"])
    except pydantic.ValidationError as exc:
        await _pool_status(rt, pool, None, [], invalid=str(exc))
        return 60.0
    await orphans.adopt(rt, pool, spec)
    workers = await rt.kube.list(WORKERS, namespace, labels={POOL_LABEL: name})
    tasks = rt.tasks.of_pool(namespace, name)  # as the task watch delivered them
    pending, due = await _settle(rt, namespace, workers, tasks)
    scaling = allocation.Scaling(
        spec.scaling.min_idle, spec.scaling.max_workers, spec.scaling.idle_timeout_seconds
    )
    plan = allocation.plan(
        name,
        scaling,
        [worker_view(w) for w in workers],
        [task_view(t) for t in pending],
        now=rt.now(),
        draining=is_draining(pool),
    )
    await _create(rt, pool, plan.create)
    by_name = {name_of(w): w for w in workers}
    await _bounded(_bind(rt, namespace, t, by_name[w]) for t, w in plan.binds)
    listed = {name_of(t): t for t in pending}
    await _bounded(_wait(rt, namespace, listed[t], w) for t, w in plan.waiting.items())
    for worker_name in plan.delete:
        await rt.kube.delete(WORKERS, namespace, worker_name)
        why = " (the pool is draining)" if is_draining(pool) else ""
        events.info(pool, reason="WorkerReaped", message=f"idle worker {worker_name} removed{why}")
    changed = plan.create or plan.delete or plan.binds
    fresh = (
        await rt.kube.list(WORKERS, namespace, labels={POOL_LABEL: name}) if changed else workers
    )
    exhausted = any(w.reason == allocation.POOL_EXHAUSTED for w in plan.waiting.values())
    await _pool_status(rt, pool, spec, fresh, exhausted=exhausted)
    _observe(rt, namespace, name, spec, fresh, tasks, queue_depth=len(plan.waiting))
    rt.succeeded((POOLS, namespace, name))  # a pass that worked: the next error backs off 5 s
    return deadlines.soonest(due, default=float(spec.poll_interval_seconds) * 2)


def _observe(
    rt: Runtime,
    namespace: str,
    name: str,
    spec: WorkerPoolSpec,
    workers: list[Body],
    tasks: list[Body],
    *,
    queue_depth: int,
) -> None:
    """What the pool holds now, for the metrics read at the next scrape."""
    live = [w for w in workers if not is_deleting(w)]
    views = [worker_view(w) for w in live]
    rt.metrics.observe_pool(
        namespace,
        name,
        provider=spec.provider.type,
        max_workers=spec.scaling.max_workers,
        workers=[
            metrics.worker_state(bound=v.task is not None, failed=v.failed, ready=v.ready)
            for v in views
        ],
        agents=[st.load(WorkerStatus, w).agent_state for w in live],
        tasks=[{k: str(x.get("status")) for k, x in raw_conditions(t).items()} for t in tasks],
        queue_depth=queue_depth,
    )


async def _settle(
    rt: Runtime, namespace: str, workers: list[Body], tasks: list[Body]
) -> tuple[list[Body], float | None]:
    """Settle every task that is not on a worker; return those to bind and the next deadline.

    The Worker's taskRef is the truth of a binding (a deleting worker holds nothing).
    Pending tasks cancelled or past their timeout end. (Finished tasks' TTLs are each
    task's own: see tasks.expire, which also serves tasks whose pool never existed.)
    """
    holders = {
        ref.name
        for w in workers
        if not is_deleting(w) and (ref := st.load(WorkerStatus, w).task_ref) is not None
    }
    now = rt.now()
    pending: list[Body] = []
    due: list[float | None] = []
    for task in tasks:
        name, found = name_of(task), raw_conditions(task)
        if is_finished(task):
            continue
        if is_deleting(task) or name in holders or not found:
            continue  # deleting: its finalizer lets go; no conditions yet: not admitted yet
        stop = stop_reason(task, now=now)
        worker = (task.get("status") or {}).get("workerName")
        if stop is not None:
            await st.transition(rt, namespace, name, task_states.failed, *stop)
        elif worker and (found.get(c.DELIVERED) or {}).get("status") == "True":
            await _lost(rt, namespace, name, str(worker))
        else:
            pending.append(task)
            spec = task.get("spec") or {}
            created = parse_iso(task["metadata"].get("creationTimestamp"))
            due.append(deadlines.remaining(created, spec.get("timeoutSeconds"), now=now))
    return pending, deadlines.soonest(*due, default=3600.0)


async def _lost(rt: Runtime, namespace: str, task: str, worker: str) -> None:
    message = f"worker {worker} was lost after the prompt was delivered; not re-run"
    await st.transition(
        rt,
        namespace,
        task,
        task_states.failed,
        task_states.WORKER_LOST,
        message,
    )


async def _create(rt: Runtime, pool: Body, names: tuple[str, ...]) -> None:
    for worker in names:
        try:
            await rt.kube.create(WORKERS, pool["metadata"]["namespace"], worker_body(pool, worker))
        except Conflict:
            continue  # created by an earlier pass or another replica: names are deterministic
        events.info(pool, reason="WorkerCreated", message=f"worker {worker} created")


async def _bind(rt: Runtime, namespace: str, task: str, worker: Body) -> None:
    """Compare-and-swap on the Worker: two tasks never share one, even across replicas.

    The task is read afresh: the pass planned from the kept one, which may have ended or
    begun deleting since."""
    try:
        task_body = await rt.kube.get(TASKS, namespace, task)
    except NotFound:
        return
    if is_finished(task_body) or is_deleting(task_body):
        rt.wake(POOLS, namespace, worker["spec"]["pool"])
        return
    uid = task_body["metadata"].get("uid")
    status = st.load(WorkerStatus, worker)
    if status.task_ref is not None:
        return
    bound = status.model_copy(
        update={
            "task_ref": ObjectRef(name=task, uid=uid),
            "bound_time": rt.stamp(),
            "idle_since_time": None,
        }
    )
    try:
        written = await rt.kube.patch_status(
            WORKERS,
            namespace,
            name_of(worker),
            st.dump(bound),
            resource_version=worker["metadata"].get("resourceVersion"),
        )
        rt.kept_worker(written)
    except Conflict:
        rt.wake(POOLS, namespace, worker["spec"]["pool"])
        return
    failpoint("after-bind")
    worker_name = name_of(worker)

    body = await st.transition(rt, namespace, task, task_states.scheduled, worker_name)
    events.info(body, reason="TaskScheduled", message=f"bound to worker {worker_name}")
    rt.wake(WORKERS, namespace, worker_name)


async def _bounded(calls: Iterable[Awaitable[None]], limit: int = WRITERS) -> None:
    """Await `calls`, `limit` at a time: a burst of tasks is marked waiting in one round
    trip's time per `limit` tasks, and no pass holds more than `limit` requests open.

    `limit` runners take the calls from one iterator: a call is made only when a runner is
    free, so 9,000 queued tasks are not 9,000 asyncio tasks (and their bodies) at once.
    """
    queue = iter(calls)

    async def runner() -> None:
        for call in queue:
            await call

    await asyncio.gather(*(runner() for _ in range(limit)))


def _says(task: Body, wait: allocation.Wait) -> bool:
    """The task says already why it waits, for this generation of its spec."""
    found = raw_conditions(task)
    scheduled, succeeded = found.get(c.SCHEDULED) or {}, found.get(c.SUCCEEDED) or {}
    return (
        (task.get("status") or {}).get("observedGeneration") == task["metadata"].get("generation")
        and (scheduled.get("status"), scheduled.get("reason")) == ("False", wait.reason)
        and (succeeded.get("status"), succeeded.get("reason")) == ("Unknown", wait.reason)
        and scheduled.get("message") == succeeded.get("message") == wait.message
    )


async def _wait(rt: Runtime, namespace: str, task: Body, wait: allocation.Wait) -> None:
    """Say why the task waits, unless it says so already (the common case: no request)."""
    if _says(task, wait):
        return
    with contextlib.suppress(NotFound):
        await st.transition(
            rt, namespace, name_of(task), task_states.waiting, wait.reason, wait.message, body=task
        )


async def _pool_status(
    rt: Runtime,
    pool: Body,
    spec: WorkerPoolSpec | None,
    workers: list[Body],
    *,
    invalid: str | None = None,
    exhausted: bool = False,
) -> None:
    views = [worker_view(w) for w in workers]
    ready = sum(1 for v in views if v.ready)
    busy = sum(1 for v in views if v.task is not None)
    generation = pool["metadata"].get("generation")
    value: ConditionStatus
    if invalid is not None or spec is None:
        value, reason, message = "False", "InvalidSpec", (invalid or "")[:1000]
    elif is_draining(pool):
        value, reason = "False", "Draining"
        message = f"draining: no new tasks start; {busy} busy workers finish, then go"
    elif exhausted:
        value, reason = "False", allocation.POOL_EXHAUSTED
        message = f"all {spec.scaling.max_workers} workers are busy and tasks are waiting"
    elif ready >= min(spec.scaling.min_idle, spec.scaling.max_workers):
        value, reason = "True", "WorkersReady"
        message = f"{ready} idle, {busy} busy, at most {spec.scaling.max_workers}"
    elif busy >= len(views) >= spec.scaling.max_workers:  # nothing is being provisioned
        value, reason = "False", ALL_BUSY
        message = (
            f"all {busy} workers are busy (maxWorkers {spec.scaling.max_workers}); "
            f"0 idle of {spec.scaling.min_idle} wanted, none can be added"
        )
    else:
        value, reason = "False", "Provisioning"
        message = f"{ready} idle of {spec.scaling.min_idle} wanted; workers are being provisioned"

    def change(_: Body, s: WorkerPoolStatus) -> WorkerPoolStatus:
        conditions = c.upsert(
            s.conditions,
            c.READY,
            value,
            reason=reason,
            message=message,
            generation=generation,
            now=rt.stamp(),
        )
        return s.model_copy(
            update={
                "replicas": len(workers),
                "ready_replicas": ready,
                "busy_replicas": busy,
                "observed_generation": generation,
                "conditions": conditions,
            }
        )

    await st.update(
        rt.kube, POOLS, pool["metadata"]["namespace"], name_of(pool), WorkerPoolStatus, change
    )


async def delete_workers(rt: Runtime, namespace: str, name: str) -> int:
    """Delete the pool's workers (their finalizers save work and destroy machines)."""
    workers = await rt.kube.list(WORKERS, namespace, labels={POOL_LABEL: name})
    for worker in workers:
        if not worker["metadata"].get("deletionTimestamp"):
            await rt.kube.delete(WORKERS, namespace, name_of(worker))
    return len(workers)
