"""AgentTask admission: validate, set the first conditions, wake the pool."""

from __future__ import annotations

import pydantic

from sprite_orchestrator.core import tasks as task_states
from sprite_orchestrator.handlers import events, inputs
from sprite_orchestrator.handlers import status as st
from sprite_orchestrator.handlers.objects import POOLS, TASKS
from sprite_orchestrator.handlers.runtime import Runtime, now_iso
from sprite_orchestrator.kube import Body, NotFound
from sprite_orchestrator.models import AgentTaskSpec, AgentTaskStatus


async def admit(rt: Runtime, body: Body) -> None:
    """First visit (or resume): a task that cannot run ends at once with a reason."""
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    generation = meta.get("generation")
    if task_states.is_finished(st.load(AgentTaskStatus, body)):
        return
    problem = await _problem(rt, namespace, body)

    def change(_: Body, s: AgentTaskStatus) -> AgentTaskStatus:
        if problem is not None:
            return task_states.failed(
                s, problem[0], problem[1], generation=generation, now=now_iso()
            )
        return task_states.initial(s, generation=generation, now=now_iso())

    updated, _status = await st.update(rt.kube, TASKS, namespace, name, AgentTaskStatus, change)
    if problem is not None:
        events.warn(updated, reason=problem[0], message=problem[1])
        return
    rt.wake(POOLS, namespace, body["spec"].get("pool", ""))


async def _problem(rt: Runtime, namespace: str, body: Body) -> tuple[str, str] | None:
    try:
        spec = AgentTaskSpec.model_validate(body.get("spec") or {})
    except pydantic.ValidationError as exc:
        return task_states.INVALID_SPEC, str(exc)[:2000]
    try:
        await rt.kube.get(POOLS, namespace, spec.pool)
    except NotFound:
        message = f"WorkerPool {spec.pool} not found in namespace {namespace}"
        return task_states.POOL_NOT_FOUND, message
    try:
        await inputs.prompt(rt.kube, namespace, spec)
    except inputs.InvalidInput as exc:
        return exc.reason, str(exc)
    return None
