"""`orchestrator dispatch`: the seed's `/orchestrator --repo kite --command "…"`."""

from __future__ import annotations

import asyncio
import pathlib
import sys
from typing import Annotated, Any

import typer

from sprite_orchestrator import API_VERSION
from sprite_orchestrator.cli.app import app
from sprite_orchestrator.cli.common import Context, Kubeconfig, Namespace, Target, connect, console
from sprite_orchestrator.cli.common import fail as fail_
from sprite_orchestrator.core import conditions as c
from sprite_orchestrator.core import naming
from sprite_orchestrator.handlers import status as st
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
    code = asyncio.run(_dispatch(target, repo, prompt, wait=wait, timeout_seconds=timeout))
    raise typer.Exit(code)


def _prompt(command: str | None, from_file: str | None) -> str:
    if (command is None) == (from_file is None):
        fail_("give the task with exactly one of --command or --from-file")
    if from_file is not None:
        data = sys.stdin.buffer.read() if from_file == "-" else pathlib.Path(from_file).read_bytes()
        command = data.decode("utf-8", errors="surrogateescape")
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


async def _dispatch(
    target: Target, repo: str, prompt: str, *, wait: bool, timeout_seconds: int | None
) -> int:
    kube, ns = target.kube, target.namespace
    try:
        await kube.get("workerpools", ns, repo)
    except NotFound:
        fail_(f"no WorkerPool {repo!r} in namespace {ns!r} (kubectl get wp -n {ns} lists them)")
    except Exception as exc:
        fail_(f"cannot reach the Kubernetes API at {kube.server}: {type(exc).__name__}")
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
    """Print the task's progress as its conditions change; the exit code is its outcome."""
    seen: set[str] = set()
    announced = False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PICKUP
    while True:
        body = await target.kube.get("agenttasks", target.namespace, name)
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
    console.print(f"status:   kubectl get at {body['metadata']['name']} -w")


def _outcome(name: str, status: str, reason: str) -> int:
    if status == "True":
        console.print(f"[green]agenttask/{name} succeeded[/green] ({reason})")
        return 0
    console.print(f"[red]agenttask/{name} failed[/red] ({reason})")
    return 1
