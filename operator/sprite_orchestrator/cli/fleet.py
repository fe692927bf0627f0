"""`orchestrator workers` and `orchestrator pools`: the seed's is-sprite-busy, for everything."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sprite_orchestrator.cli import output, reading
from sprite_orchestrator.cli.app import app
from sprite_orchestrator.cli.common import (
    Context,
    Kubeconfig,
    Namespace,
    Output,
    Target,
    connect,
    console,
    run,
)
from sprite_orchestrator.core import conditions as c
from sprite_orchestrator.handlers import status as st
from sprite_orchestrator.handlers.objects import (
    POOL_LABEL,
    POOLS,
    RESET,
    WORKERS,
    annotation,
    is_draining,
)
from sprite_orchestrator.kube import Body
from sprite_orchestrator.models import Condition, WorkerPoolStatus, WorkerStatus


@app.command()
def workers(
    repo: Annotated[
        str | None, typer.Option("--repo", "-r", help="Only the workers of this pool.")
    ] = None,
    output_format: Output = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
) -> None:
    """Workers: agent state, task, how long idle, Ready (and why not)."""
    target = connect(kubeconfig, context, namespace)
    rows = run(target, _workers(target, repo))
    if output_format is not None:
        output.emit(rows, output_format)
        return
    if not rows:
        console.print("no workers" + (f" in pool {repo}" if repo else "") + " yet")
        return
    output.table(
        ("name", "pool", "agent", "task", "idle", "ready", "age"),
        [
            [
                r["name"],
                r["pool"],
                r["agentState"] or "-",
                r["task"] or "-",
                output.age(r["idleSinceTime"]) if r["idleSinceTime"] and not r["task"] else "-",
                _condition(r["ready"]),
                output.age(r["creationTimestamp"]),
            ]
            for r in rows
        ],
    )


async def _workers(target: Target, repo: str | None) -> list[dict[str, Any]]:
    if repo is not None:
        await reading.get(target, POOLS, repo)
    labels = {POOL_LABEL: repo} if repo else None
    return [_worker(b) for b in await reading.listing(target, WORKERS, labels=labels)]


def _worker(body: Body) -> dict[str, Any]:
    status = st.load(WorkerStatus, body)
    return {
        "name": body["metadata"]["name"],
        "pool": (body.get("spec") or {}).get("pool"),
        "agentState": status.agent_state,
        "task": status.task_ref.name if status.task_ref else None,
        "idleSinceTime": status.idle_since_time,
        "lastPollTime": status.last_poll_time,
        "machine": status.machine,
        "ready": _plain(c.find(status.conditions, c.READY)),
        "provisioned": _plain(c.find(status.conditions, c.PROVISIONED)),
        "resetRequested": annotation(body, RESET),
        "deleting": bool(body["metadata"].get("deletionTimestamp")),
        "creationTimestamp": body["metadata"].get("creationTimestamp"),
    }


@app.command()
def pools(
    output_format: Output = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
) -> None:
    """Pools: workers, ready, busy, the most allowed, provider, Ready (and why not)."""
    target = connect(kubeconfig, context, namespace)
    rows = run(target, _pools(target))
    if output_format is not None:
        output.emit(rows, output_format)
        return
    if not rows:
        console.print("no pools yet: kubectl apply -f a WorkerPool (see the README)")
        return
    output.table(
        ("name", "replicas", "ready", "busy", "max", "provider", "status", "age"),
        [
            [
                r["name"],
                str(r["replicas"]),
                str(r["readyReplicas"]),
                str(r["busyReplicas"]),
                str(r["maxWorkers"]),
                r["provider"],
                _condition(r["ready"]),
                output.age(r["creationTimestamp"]),
            ]
            for r in rows
        ],
    )
    for r in rows:
        if r["ready"] and r["ready"]["status"] != "True" and r["ready"]["message"]:
            console.print(f"[dim]{r['name']}: {r['ready']['message']}[/dim]")


async def _pools(target: Target) -> list[dict[str, Any]]:
    return [_pool(b) for b in await reading.listing(target, POOLS)]


def _pool(body: Body) -> dict[str, Any]:
    spec, status = body.get("spec") or {}, st.load(WorkerPoolStatus, body)
    return {
        "name": body["metadata"]["name"],
        "replicas": status.replicas,
        "readyReplicas": status.ready_replicas,
        "busyReplicas": status.busy_replicas,
        "maxWorkers": (spec.get("scaling") or {}).get("maxWorkers", 5),
        "provider": (spec.get("provider") or {}).get("type", "Local"),
        "draining": is_draining(body),
        "ready": _plain(c.find(status.conditions, c.READY)),
        "creationTimestamp": body["metadata"].get("creationTimestamp"),
    }


def _plain(found: Condition | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {"status": found.status, "reason": found.reason, "message": found.message}


def _condition(found: dict[str, Any] | None) -> str:
    """`True`, or `False/Reason`: the why is where the eye already is."""
    if found is None:
        return "-"
    return found["status"] if found["status"] == "True" else f"{found['status']}/{found['reason']}"
