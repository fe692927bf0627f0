"""`orchestrator cancel`: stop a task; the operator saves its work first."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from sprite_orchestrator.cli.app import app
from sprite_orchestrator.cli.common import (
    Context,
    Kubeconfig,
    Namespace,
    Target,
    connect,
    console,
    fail,
)
from sprite_orchestrator.kube import NotFound


@app.command()
def cancel(
    task: Annotated[str, typer.Argument(help="The AgentTask to stop.")],
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
) -> None:
    """Cancel a task (spec.cancelled: true): the agent stops, its work goes to wip/<task>."""
    asyncio.run(_cancel(connect(kubeconfig, context, namespace), task))


async def _cancel(target: Target, task: str) -> None:
    try:
        await target.kube.patch("agenttasks", target.namespace, task, {"spec": {"cancelled": True}})
    except NotFound:
        fail(f"no AgentTask {task!r} in namespace {target.namespace!r}")
    console.print(f"agenttask/{task} cancelled; the operator saves its work to wip/{task}")
