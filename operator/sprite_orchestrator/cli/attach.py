"""`orchestrator attach`: the seed's `tmux attach -t kite-dev`, for a worker or a task."""

from __future__ import annotations

import asyncio
import os
import pathlib
import shlex
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
    fail,
    run,
)
from sprite_orchestrator.core import naming
from sprite_orchestrator.kube import Body, NotFound
from sprite_orchestrator.providers.local import LocalProvider


@app.command()
def attach(
    name: Annotated[str, typer.Argument(help="A Worker (kite-1) or an AgentTask.")],
    print_only: Annotated[
        bool, typer.Option("--print", help="Print the command instead of running it.")
    ] = False,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
) -> None:
    """Open the worker's tmux session (window 1 is the agent); Ctrl-b d detaches."""
    target = connect(kubeconfig, context, namespace)
    argv = run(target, _argv(target, name))
    if print_only:
        typer.echo(shlex.join(argv))
        return
    os.execvp(argv[0], argv)  # noqa: S606 (argv built from the provider, no shell)


async def _argv(target: Target, name: str) -> list[str]:
    worker = await _worker(target, name)
    pool = worker["spec"]["pool"]
    try:
        spec = (await target.kube.get("workerpools", target.namespace, pool))["spec"]
    except NotFound:
        fail(f"worker {name} belongs to pool {pool}, which is gone")
    kind = (spec.get("provider") or {}).get("type", "Local")
    machine = (worker.get("status") or {}).get("machine")
    if kind == "SSH":
        ssh_argv = _ssh(worker["metadata"]["name"], machine)
        return [*ssh_argv, "attach", "-t", naming.session_name(pool)]
    if kind == "Sprites":
        return _sprite(worker["metadata"]["name"])
    if kind != "Local":
        fail(f"attach to {kind} workers lands with the {kind} provider")
    if not machine or not await asyncio.to_thread(pathlib.Path(machine).is_dir):
        fail(
            f"worker {worker['metadata']['name']} is a Local worker on the operator's host; "
            "run attach there (on a cluster: kubectl exec into the operator's pod)"
        )
    provider = LocalProvider(pathlib.Path(machine).parent)
    found = {m.name: m for m in await provider.list()}.get(worker["metadata"]["name"])
    if found is None:
        fail(f"no machine for worker {worker['metadata']['name']} on this host")
    return [*found.attach, "attach", "-t", naming.session_name(pool)]


def _ssh(name: str, machine: str | None) -> list[str]:
    """`ssh -t -p PORT user@host tmux` for the machine the worker claimed."""
    try:
        from sprite_orchestrator.providers import ssh
    except ImportError:
        fail("attaching to SSH workers needs asyncssh: pip install 'sprite-orchestrator[ssh]'")
    if not machine:
        fail(f"worker {name} has no machine yet (kubectl describe wk {name} says why)")
    try:
        return ssh.attach_command(machine)
    except ValueError:
        fail(f"worker {name} names no SSH machine ({machine!r})")


def _sprite(name: str) -> list[str]:
    """`sprite console -s NAME` (the Sprites CLI); then `tmux attach -t <pool>-dev` in it."""
    try:
        from sprite_orchestrator.providers import sprites
    except ImportError:
        fail(
            "attaching to Sprites workers needs sprites-py: "
            "pip install 'sprite-orchestrator[sprites]'"
        )
    return sprites.attach_command(name)


async def _worker(target: Target, name: str) -> Body:
    plural, found = await reading.get_any(target, name, ("workers", "agenttasks"))
    if plural == "workers":
        return found
    worker = (found.get("status") or {}).get("workerName")
    if not worker:
        fail(f"agenttask {name} has no worker yet (orchestrator status {name} says why)")
    try:
        return await target.kube.get("workers", target.namespace, worker)
    except NotFound:
        fail(f"agenttask {name} ran on worker {worker}, which is gone")
