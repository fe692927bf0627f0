"""`orchestrator dispatch`: the seed's `/orchestrator --repo kite --command "…"`."""

from __future__ import annotations

import asyncio
import pathlib
import sys
from typing import Annotated, Any

import typer
from rich.live import Live

from sprite_orchestrator import API_VERSION
from sprite_orchestrator.cli import live, reading
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
from sprite_orchestrator.cli.common import fail as fail_
from sprite_orchestrator.core import conditions as c
from sprite_orchestrator.core import naming
from sprite_orchestrator.handlers import status as st
from sprite_orchestrator.handlers.objects import POOL_LABEL, POOLS, TASKS, WORKERS
from sprite_orchestrator.kube import Body, NotFound
from sprite_orchestrator.models import AgentTaskStatus
from sprite_orchestrator.models.task import MAX_PROMPT

POLL = 0.25
PICKUP = 15.0  # seconds to wait for a worker before returning without --wait


@app.command()
def dispatch(
    repo: Annotated[str, typer.Option("--repo", "-r", help="The WorkerPool (repo) name.")],
    command: Annotated[
        str | None, typer.Option("--command", "-c", help="The task for the agent.")
    ] = None,
    from_file: Annotated[
        str | None,
        typer.Option("--from-file", "-f", help="Prompt file; - is stdin."),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", "-w", help="Follow the task to its end.")] = False,
    timeout: Annotated[
        int | None, typer.Option("--timeout", help="spec.timeoutSeconds of the task.")
    ] = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
) -> None:
    """Dispatch a task to the next idle worker of a pool; --wait follows it to the end."""
    prompt = _prompt(command, from_file)
    target = connect(kubeconfig, context, namespace)
    code = run(target, _dispatch(target, repo, prompt, wait=wait, timeout_seconds=timeout))
    raise typer.Exit(code)


def _prompt(command: str | None, from_file: str | None) -> str:
    if (command is None) == (from_file is None):
        fail_("give the task with exactly one of --command or --from-file")
    if from_file is not None:
        command = _read(from_file).decode("utf-8", errors="surrogateescape")
    assert command is not None
    try:
        command.encode("utf-8")  # undecodable bytes (file or argv) are lone surrogates here
    except UnicodeEncodeError as exc:
        fail_(f"the prompt is not UTF-8 text (character {exc.start} is not); nothing was sent")
    if not command.strip():
        fail_("the prompt is empty: tell the agent what to do")
    if len(command) > MAX_PROMPT:
        fail_(f"the prompt has {len(command)} characters; at most {MAX_PROMPT} fit in a task")
    return command


def _read(from_file: str) -> bytes:
    """The prompt file's bytes (- is stdin); a file that cannot be read is one line."""
    if from_file == "-":
        return sys.stdin.buffer.read()
    try:
        return pathlib.Path(from_file).read_bytes()
    except IsADirectoryError:
        fail_(f"--from-file {from_file} is a directory: give the prompt's file, or - for stdin")
    except FileNotFoundError:
        fail_(f"--from-file {from_file}: no such file; give the prompt's file, or - for stdin")
    except OSError as exc:
        fail_(f"cannot read --from-file {from_file} ({exc.strerror}): check the path and rights")


async def _dispatch(
    target: Target, repo: str, prompt: str, *, wait: bool, timeout_seconds: int | None
) -> int:
    kube, ns = target.kube, target.namespace
    await reading.get(target, POOLS, repo)
    spec: dict[str, Any] = {"pool": repo, "prompt": prompt}
    if timeout_seconds is not None:
        spec["timeoutSeconds"] = timeout_seconds
    body = {
        "apiVersion": API_VERSION,
        "kind": "AgentTask",
        "metadata": {"generateName": f"{repo}-", "namespace": ns},
        "spec": spec,
    }
    created = await kube.create("agenttasks", ns, body)
    name = created["metadata"]["name"]
    console.print(f"agenttask/{name} created in pool {repo}")
    return await follow(target, name, repo, wait=wait)


async def follow(target: Target, name: str, repo: str, *, wait: bool) -> int:
    """Follow the task; the exit code is its outcome. On a terminal --wait is a live view."""
    if wait and console.is_terminal:
        return await _live(target, name, repo)
    return await _lines(target, name, repo, wait=wait)


async def _live(target: Target, name: str, repo: str) -> int:
    """Redraw the phases until the task ends; how to watch it is printed once it has a worker."""
    announced = False
    with Live(console=console, refresh_per_second=8, auto_refresh=False) as view:
        while True:
            body = await _task(target, name)
            workers = await target.kube.list(WORKERS, target.namespace, labels={POOL_LABEL: repo})
            view.update(live.render(name, body, workers), refresh=True)
            status = st.load(AgentTaskStatus, body)
            if status.worker_name and not announced:
                announced = True
                _how_to_watch(body, status.worker_name, repo)
            done = c.find(status.conditions, c.SUCCEEDED)
            if done is not None and done.status != "Unknown":
                break
            await asyncio.sleep(POLL)
    return _outcome(name, done.status, done.reason)


async def _task(target: Target, name: str) -> Body:
    try:
        return await target.kube.get(TASKS, target.namespace, name)
    except NotFound:
        fail_(f"agenttask {name} was deleted while it was followed", code=1)


async def _lines(target: Target, name: str, repo: str, *, wait: bool) -> int:
    """Print the task's progress as its conditions change (not a terminal, or no --wait)."""
    seen: set[str] = set()
    announced = False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PICKUP
    while True:
        body = await _task(target, name)
        status = st.load(AgentTaskStatus, body)
        for cond in status.conditions:
            # Each news once: Succeeded often repeats the message of the step that moved it.
            if cond.message and cond.reason != "Pending" and cond.message not in seen:
                seen.add(cond.message)
                console.print(f"  {cond.type}: {cond.message}")
        if status.worker_name and not announced:
            announced = True
            _how_to_watch(body, status.worker_name, repo)
            if not wait:
                return 0
        done = c.find(status.conditions, c.SUCCEEDED)
        if done is not None and done.status != "Unknown":
            return _outcome(name, done.status, done.reason)
        if not wait and _waiting_reported(status):
            return 0
        if not wait and loop.time() > deadline:
            console.print("the operator has not picked it up yet: is it running?")
            return 0
        await asyncio.sleep(POLL)


def _waiting_reported(status: AgentTaskStatus) -> bool:
    scheduled = c.find(status.conditions, c.SCHEDULED)
    return scheduled is not None and scheduled.reason not in ("Pending", "")


def _how_to_watch(body: Body, worker: str, repo: str) -> None:
    console.print(f"worker: {worker}")
    console.print(
        f"watch it: orchestrator attach {worker}   "
        f"(tmux session {naming.session_name(repo)}, window 1 is the agent)"
    )
    console.print(f"status:   orchestrator status {body['metadata']['name']}")


def _outcome(name: str, status: str, reason: str) -> int:
    if status == "True":
        console.print(f"[green]agenttask/{name} succeeded[/green] ({reason})")
        return 0
    console.print(f"[red]agenttask/{name} failed[/red] ({reason})")
    return 1
