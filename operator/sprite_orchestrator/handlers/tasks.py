"""AgentTask admission (validate, set the first conditions, wake the pool) and its TTL."""

from __future__ import annotations

import pydantic

from sprite_orchestrator.core import deadlines
from sprite_orchestrator.core import tasks as task_states
from sprite_orchestrator.handlers import events, inputs
from sprite_orchestrator.handlers import status as st
from sprite_orchestrator.handlers.objects import POOLS, TASKS, WORKERS
from sprite_orchestrator.handlers.runtime import Runtime, iso_micro, parse_iso
from sprite_orchestrator.kube import Body, NotFound
from sprite_orchestrator.models import AgentTaskSpec, AgentTaskStatus, WorkerStatus


async def admit(rt: Runtime, body: Body) -> None:
    """First visit (or resume): a task that cannot run ends at once with a reason.

    Its queue time is read first, before any await, so tasks keep the order kopf saw them
    in (the watch stream's, the API's), which creationTimestamp's whole seconds lose.
    """
    queued = iso_micro(rt.now())
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    if task_states.is_finished(st.load(AgentTaskStatus, body)):
        return
    problem = await _problem(rt, namespace, body)
    if problem is None:
        await st.transition(rt, namespace, name, task_states.admitted, queued, body=body)
        rt.wake(POOLS, namespace, body["spec"].get("pool", ""))
        return
    updated = await st.transition(rt, namespace, name, task_states.failed, *problem)
    events.warn(updated, reason=problem[0], message=problem[1])


async def _problem(rt: Runtime, namespace: str, body: Body) -> tuple[str, str] | None:
    try:
        spec = AgentTaskSpec.model_validate(body.get("spec") or {})
    except pydantic.ValidationError as exc:
        return task_states.INVALID_SPEC, str(exc)[:2000]
    try:
        if (namespace, spec.pool) not in rt.pools:  # the pools' watch has not shown it
            await rt.kube.get(POOLS, namespace, spec.pool)
    except NotFound:
        message = f"WorkerPool {spec.pool} not found in namespace {namespace}"
        return task_states.POOL_NOT_FOUND, message
    try:
        await inputs.prompt(rt.kube, namespace, spec)
    except inputs.InvalidInput as exc:
        return exc.reason, str(exc)
    return None


def expiring(body: Body) -> bool:
    """Finished, with a ttlSecondsAfterFinished: a TTL timer is due for it."""
    spec, status = body.get("spec") or {}, body.get("status") or {}
    return spec.get("ttlSecondsAfterFinished") is not None and bool(status.get("completionTime"))


async def expire(rt: Runtime, namespace: str, name: str) -> float | None:
    """Delete a finished task past its ttlSecondsAfterFinished; else the seconds to wait.

    Per task, not per pool: a task that ended PoolNotFound, or whose pool was deleted, has
    no pool to do it. None: the task is gone. Waits are capped at a minute so a wall clock
    that jumps (or a test's) is followed.
    """
    try:
        body = await rt.kube.get(TASKS, namespace, name)
    except NotFound:
        return None
    ttl = (body.get("spec") or {}).get("ttlSecondsAfterFinished")
    done = parse_iso(st.load(AgentTaskStatus, body).completion_time)
    if deadlines.expired(done, ttl, now=rt.now()):
        await rt.kube.delete(TASKS, namespace, name)
        return None
    return deadlines.soonest(deadlines.remaining(done, ttl, now=rt.now()), default=60.0)


async def holder(rt: Runtime, namespace: str, name: str) -> str | None:
    """The worker still bound to this task, if any (it saves the work, then lets go)."""
    for worker in await rt.kube.list(WORKERS, namespace):
        ref = st.load(WorkerStatus, worker).task_ref
        if ref is not None and ref.name == name:
            return str(worker["metadata"]["name"])
    return None
