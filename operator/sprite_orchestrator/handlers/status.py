"""Read-modify-write of `/status` with the resourceVersion as precondition.

Several reconcilers write one task's status (the pool binds it, the worker delivers and
observes); each write is a compare-and-swap, so none overwrites what another just wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from sprite_orchestrator.core import conditions
from sprite_orchestrator.core import tasks as task_states
from sprite_orchestrator.handlers.runtime import Runtime
from sprite_orchestrator.kube import Body, Conflict, Kube
from sprite_orchestrator.models import AgentTaskStatus

TASKS, POOLS = "agenttasks", "workerpools"  # as in handlers.objects, which imports this

S = TypeVar("S", bound=BaseModel)
ATTEMPTS = 8


def dump(status: BaseModel) -> dict[str, Any]:
    """Status as JSON; unset fields become null so a merge patch removes them."""
    return status.model_dump(by_alias=True, mode="json")


def load(cls: type[S], body: Body) -> S:
    """The status of an object as a model; what the model does not know is ignored."""
    raw = body.get("status") or {}
    known = {f.alias or name for name, f in cls.model_fields.items()}
    return cls.model_validate({k: v for k, v in raw.items() if k in known})


async def update(
    kube: Kube,
    plural: str,
    namespace: str,
    name: str,
    cls: type[S],
    change: Callable[[Body, S], S | None],
    *,
    body: Body | None = None,
) -> tuple[Body, S]:
    """Apply `change` to the freshest status until it sticks; None from `change` aborts.

    `body`, if given, is the object as the caller just read or wrote it: the first attempt
    starts from it instead of reading again (a poll made five reads of two objects). It is
    safe: the write is a compare-and-swap on its resourceVersion, and a conflict reads anew.
    """
    known = body
    for _ in range(ATTEMPTS):
        body = known or await kube.get(plural, namespace, name)
        known = None
        old = load(cls, body)
        new = change(body, old)
        if new is None or new == old:
            return body, old
        version = body["metadata"].get("resourceVersion")
        try:
            patched = await kube.patch_status(
                plural, namespace, name, dump(new), resource_version=version
            )
        except Conflict:
            continue
        return patched, new
    raise Conflict(f"{plural}/{name}: status kept changing under {ATTEMPTS} attempts")


async def transition(
    rt: Runtime,
    namespace: str,
    task: str,
    step: Callable[..., AgentTaskStatus],
    *args: Any,
    body: Body | None = None,
) -> Body:
    """One step of the task state machine on the task's freshest status; returns the task.

    The one place a task can end, so it is also where a finished task is counted.
    """
    now = rt.stamp()

    was_finished = False

    def change(body: Body, status: AgentTaskStatus) -> AgentTaskStatus:
        nonlocal was_finished
        was_finished = task_states.is_finished(status)  # as of the read that sticks
        generation = body["metadata"].get("generation")
        return step(status, *args, generation=generation, now=now)

    updated, status = await update(
        rt.kube, TASKS, namespace, task, AgentTaskStatus, change, body=body
    )
    if rt.tasks.keep("MODIFIED", updated):  # the next pool pass plans from what was written
        rt.wake(POOLS, namespace, str((updated.get("spec") or {}).get("pool", "")))
    if task_states.is_finished(status) and not was_finished:
        _count_finished(rt, namespace, updated, status)
    return updated


def _count_finished(rt: Runtime, namespace: str, body: Body, status: AgentTaskStatus) -> None:
    found = conditions.find(status.conditions, conditions.SUCCEEDED)
    if found is None:
        return
    result = "succeeded" if found.status == "True" else "failed"
    pool = str((body.get("spec") or {}).get("pool", ""))
    rt.metrics.task_finished(namespace, pool, result=result, reason=found.reason)
