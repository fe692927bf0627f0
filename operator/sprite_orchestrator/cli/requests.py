"""`orchestrator reset` and `orchestrator drain`: requests the operator honours.

They are annotations, not spec: the operator never writes a spec, and pools may be managed
from git, where an edited spec would be drift.
"""

from __future__ import annotations

import datetime
from typing import Annotated

import typer

from sprite_orchestrator.cli import reading
from sprite_orchestrator.cli.app import app
from sprite_orchestrator.cli.common import (
    Context,
    Kubeconfig,
    Namespace,
    Target,
    connect,
    console,
    run,
)
from sprite_orchestrator.handlers.objects import DRAIN, POOLS, RESET, WORKERS
from sprite_orchestrator.kube import Body


@app.command()
def reset(
    worker: Annotated[str, typer.Argument(help="The Worker (kite-1).")],
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
) -> None:
    """Re-provision a worker on a fresh machine; a task on it stops, its work saved first."""
    target = connect(kubeconfig, context, namespace)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = run(target, _annotate(target, WORKERS, worker, RESET, now))
    console.print(f"worker/{worker} reset requested ({RESET}={now})")
    task = ((body.get("status") or {}).get("taskRef") or {}).get("name")
    if task:
        console.print(f"its task {task} stops; its work goes to wip/{task}")
    console.print(f"follow it: orchestrator workers --repo {body['spec']['pool']}")


@app.command()
def drain(
    pool: Annotated[str, typer.Argument(help="The WorkerPool (repo).")],
    undo: Annotated[bool, typer.Option("--undo", help="Resume the pool.")] = False,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
) -> None:
    """Start nothing new on a pool: idle workers go, busy ones finish their task, then go."""
    target = connect(kubeconfig, context, namespace)
    run(target, _annotate(target, POOLS, pool, DRAIN, None if undo else "true"))
    if undo:
        console.print(f"workerpool/{pool} resumed: waiting tasks start, minIdle is kept warm")
    else:
        console.print(
            f"workerpool/{pool} draining: no new tasks start; idle workers go now, busy ones "
            f"when their task ends. Undo: orchestrator drain {pool} --undo"
        )


async def _annotate(target: Target, plural: str, name: str, key: str, value: str | None) -> Body:
    """Set (or remove) the annotation; returns the object as it was."""
    body = await reading.get(target, plural, name)
    patch = {"metadata": {"annotations": {key: value}}}
    await target.kube.patch(plural, target.namespace, name, patch)
    return body
