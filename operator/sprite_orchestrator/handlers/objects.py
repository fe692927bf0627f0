"""Reading our objects into the views the pure core plans with."""

from __future__ import annotations

from typing import Any

from sprite_orchestrator import API_VERSION, GROUP
from sprite_orchestrator.core import allocation
from sprite_orchestrator.core import conditions as c
from sprite_orchestrator.core import tasks as task_states
from sprite_orchestrator.handlers import status as st
from sprite_orchestrator.handlers.runtime import parse_iso
from sprite_orchestrator.kube import Body
from sprite_orchestrator.models import AgentTaskStatus, WorkerStatus
from sprite_orchestrator.models.pool import ProviderSpec

POOL_LABEL = "orchestrator.dev/pool"
WORKERS, TASKS, POOLS = "workers", "agenttasks", "workerpools"
# Requests from people (`orchestrator drain`, `orchestrator reset`): annotations, since the
# operator never writes a spec and a pool's spec may be managed from git.
DRAIN = f"{GROUP}/drain"
RESET = f"{GROUP}/reset-requested"
WORKER_RESET = "WorkerReset"  # the reason while a reset worker waits to be provisioned anew


def name_of(body: Body) -> str:
    return str(body["metadata"]["name"])


def is_deleting(body: Body) -> bool:
    return bool(body["metadata"].get("deletionTimestamp"))


def annotation(body: Body, key: str) -> str | None:
    value = (body["metadata"].get("annotations") or {}).get(key)
    return str(value) if value else None


def is_draining(body: Body) -> bool:
    """The pool was asked to drain: `orchestrator.dev/drain: "true"`."""
    return annotation(body, DRAIN) == "true"


def worker_view(body: Body) -> allocation.WorkerView:
    """A Worker as pool planning sees it."""
    status = st.load(WorkerStatus, body)
    provisioned = c.find(status.conditions, c.PROVISIONED)
    ready = c.find(status.conditions, c.READY)
    return allocation.WorkerView(
        name=name_of(body),
        provisioned=provisioned is not None
        and provisioned.status == "True"
        and ready is not None
        and ready.status == "True"
        and annotation(body, RESET) is None,  # a worker about to be reset takes no task
        failed=provisioned is not None
        and provisioned.status == "False"
        and provisioned.reason not in ("Provisioning", WORKER_RESET),
        task=status.task_ref.name if status.task_ref else None,
        deleting=is_deleting(body),
        idle_since=parse_iso(status.idle_since_time),
    )


def task_view(body: Body) -> allocation.TaskView:
    return allocation.TaskView(
        name=name_of(body),
        created=str(body["metadata"].get("creationTimestamp") or ""),
        priority=int((body.get("spec") or {}).get("priority") or 0),
        queued=task_status(body).queued_time or "",
    )


def stop_reason(body: Body, *, now: float) -> tuple[str, str] | None:
    """Cancelled, deleted or timed out: the task must stop (see core.tasks.stop_reason)."""
    spec = body.get("spec") or {}
    return task_states.stop_reason(
        cancelled=bool(spec.get("cancelled")),
        deleting=is_deleting(body),
        created=parse_iso(body["metadata"].get("creationTimestamp")),
        timeout=spec.get("timeoutSeconds"),
        now=now,
    )


def task_status(body: Body) -> AgentTaskStatus:
    return st.load(AgentTaskStatus, body)


def raw_conditions(body: Body) -> dict[str, dict[str, Any]]:
    """An object's conditions as raw JSON by type: a pool pass reads 10,000 tasks with no
    model parsed (see task_status for the model)."""
    found = (body.get("status") or {}).get("conditions")
    items = found if isinstance(found, list) else []
    return {x["type"]: x for x in items if isinstance(x, dict) and isinstance(x.get("type"), str)}


def is_finished(body: Body) -> bool:
    """Succeeded is True or False: nothing more will happen to this task."""
    return (raw_conditions(body).get(c.SUCCEEDED) or {}).get("status") in ("True", "False")


def worker_body(pool: Body, name: str) -> dict[str, Any]:
    """A new Worker, owned by its pool so it goes with it.

    A remote provider (SSH, Sprites) is recorded on it: a pool removed without its
    finalizer must not leave a claimed host or a billed sprite that nobody can find again.
    """
    meta = pool["metadata"]
    spec: dict[str, Any] = {"pool": meta["name"]}
    provider = ProviderSpec.model_validate((pool.get("spec") or {}).get("provider") or {})
    if provider.type != "Local":
        spec["provider"] = provider.model_dump(by_alias=True, exclude_none=True)
    return {
        "apiVersion": API_VERSION,
        "kind": "Worker",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "labels": {POOL_LABEL: meta["name"]},
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
                    "kind": "WorkerPool",
                    "name": meta["name"],
                    "uid": meta.get("uid", ""),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": spec,
    }
