"""`orchestrator cancel`: stop a task; the operator saves its work first."""

from __future__ import annotations

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
    run,
)
from sprite_orchestrator.cli.reading import get


@app.command()
def cancel(
    task: Annotated[str, typer.Argument(help="The AgentTask to stop.")],
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
) -> None:
    """Cancel a task (spec.cancelled: true): the agent stops, its work goes to wip/<task>."""
    target = connect(kubeconfig, context, namespace)
    run(target, _cancel(target, task))


async def _cancel(target: Target, task: str) -> None:
    await get(target, "agenttasks", task)
    await target.kube.patch("agenttasks", target.namespace, task, {"spec": {"cancelled": True}})
    console.print(f"agenttask/{task} cancelled; the operator saves its work to wip/{task}")
