"""`orchestrator logs TASK|WORKER [-f]`: what a worker's agent shows and did.

Three parts: the worker's provisioning output (`~/.sprite-orchestrator/provision.log`), the
agent's pane (window 1, as `tmux attach` shows it), and the task's session transcript in
brief, read on the worker, else from the task's status (a worker that is gone took its
files along). The worker is reached through the pool's provider, built as the operator
builds it; a Local worker's machine lives under the operator's state dir, which the
Worker's `status.machine` names.
"""

from __future__ import annotations

import asyncio
import dataclasses
import pathlib
from typing import Annotated, Any

import pydantic
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
    errors,
    fail,
    run,
)
from sprite_orchestrator.core import naming, transcripts
from sprite_orchestrator.core import tasks as task_states
from sprite_orchestrator.handlers import providing
from sprite_orchestrator.handlers import status as st
from sprite_orchestrator.kube import Body, NotFound
from sprite_orchestrator.models import AgentTaskStatus, WorkerPoolSpec, WorkerStatus
from sprite_orchestrator.providers.base import Provider, ProviderError
from sprite_orchestrator.worker import panes, provisioning, transcript
from sprite_orchestrator.worker.remote import WorkerError

PROVISION_LOG_BYTES = 16 * 1024
FOLLOW_SECONDS = 1.0


@dataclasses.dataclass
class Subject:
    """What the name resolved to: a task and/or its worker, and how to reach the machine."""

    task: Body | None
    worker: Body | None
    worker_name: str | None
    pool: str
    provider: Provider | None = None


@app.command()
def logs(
    name: Annotated[str, typer.Argument(help="An AgentTask or a Worker (kite-1).")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing the agent's pane.")
    ] = False,
    output_format: Output = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
) -> None:
    """Show a worker's provisioning output, its agent's pane and the session transcript."""
    target = connect(kubeconfig, context, namespace)
    run(target, _logs(target, name, follow=follow, output_format=output_format))


async def _logs(target: Target, name: str, *, follow: bool, output_format: Output) -> None:
    subject = await _resolve(target, name)
    if follow and subject.worker_name is None:
        fail(f"agenttask {name} has no worker yet (kubectl get at {name} says why)")
    if follow and subject.provider is None:
        fail(f"worker {subject.worker_name} is gone: nothing to follow")
    try:
        report = await _report(subject)
        if output_format is not None:
            output.emit(report, output_format)
        else:
            _print(report)
        if follow:
            await _follow(target, subject, report.get("pane") or "")
    except (WorkerError, ProviderError) as exc:
        fail(f"cannot read worker {subject.worker_name}: {exc}")
    finally:
        if subject.provider is not None:
            await subject.provider.close()


async def _resolve(target: Target, name: str) -> Subject:
    """The task or worker called `name`, the other one if it is bound, and the provider."""
    ns = target.namespace
    task = await reading.find(target, "agenttasks", name)
    worker = None if task is not None else await reading.find(target, "workers", name)
    if task is None and worker is None:
        fail(
            f"no AgentTask or Worker named {name!r} in namespace {ns!r} "
            f"(`orchestrator status -n {ns}` and `orchestrator workers -n {ns}` list them)"
        )
    if task is not None:
        worker_name = st.load(AgentTaskStatus, task).worker_name
        worker = await reading.find(target, "workers", worker_name) if worker_name else None
        pool = str(task["spec"]["pool"])
    else:
        assert worker is not None
        worker_name, pool = name, str(worker["spec"]["pool"])
        ref = st.load(WorkerStatus, worker).task_ref
        task = await reading.find(target, "agenttasks", ref.name) if ref is not None else None
    subject = Subject(task=task, worker=worker, worker_name=worker_name, pool=pool)
    if worker is not None:
        subject.provider = await _provider(target, pool, worker)
    return subject


async def _provider(target: Target, pool: str, worker: Body) -> Provider:
    try:
        spec = WorkerPoolSpec.model_validate(
            (await target.kube.get("workerpools", target.namespace, pool))["spec"]
        )
    except NotFound:
        fail(f"worker {worker['metadata']['name']} belongs to pool {pool}, which is gone")
    except pydantic.ValidationError as exc:
        fail(f"pool {pool} has an invalid spec: {exc.errors()[0]['msg']}")
    state_dir = pathlib.Path(".")
    if spec.provider.type == "Local":
        state_dir = await _local_state_dir(worker)
    try:
        return providing.build(target.kube, state_dir, target.namespace, pool, spec)
    except ProviderError as exc:
        fail(str(exc))


async def _local_state_dir(worker: Body) -> pathlib.Path:
    """The operator's state dir, from the machine path `<state>/local/<ns>/<pool>/<name>`."""
    name = worker["metadata"]["name"]
    machine = st.load(WorkerStatus, worker).machine
    if not machine or not await asyncio.to_thread(pathlib.Path(machine).is_dir):
        fail(
            f"worker {name} is a Local worker on the operator's host; run logs there "
            "(on a cluster: kubectl exec into the operator's pod)"
        )
    return pathlib.Path(machine).parents[3]


async def _report(subject: Subject) -> dict[str, Any]:
    """Everything to show, as plain data (the JSON output is exactly this)."""
    task_name = subject.task["metadata"]["name"] if subject.task is not None else None
    report: dict[str, Any] = {
        "task": task_name,
        "worker": subject.worker_name,
        "pool": subject.pool,
        "workerGone": subject.worker_name is not None and subject.worker is None,
        "provisioning": None,
        "pane": None,
        "paneTask": None,
        "transcript": None,
    }
    if subject.provider is not None and subject.worker_name is not None:
        report.update(await _from_worker(subject, subject.provider, subject.worker_name))
    if report["transcript"] is None and subject.task is not None:
        summary = st.load(AgentTaskStatus, subject.task).transcript
        if summary is not None:
            report["transcript"] = {
                **summary.model_dump(by_alias=True, mode="json"),
                "from": "status",
            }
    if report["workerGone"] and report["transcript"] is None:
        fail(f"agenttask {task_name} ran on worker {subject.worker_name}, which is gone")
    return report


async def _from_worker(subject: Subject, provider: Provider, worker: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    log = await provisioning.provision_log(provider, worker, PROVISION_LOG_BYTES)
    found["provisioning"] = log.decode("utf-8", "replace")
    bound = st.load(WorkerStatus, subject.worker or {}).task_ref
    found["paneTask"] = bound.name if bound is not None else None
    found["pane"] = await panes.capture(provider, worker, session=naming.session_name(subject.pool))
    session_id = st.load(AgentTaskStatus, subject.task or {}).session_id
    if session_id is not None:
        summary = await transcript.summary(provider, worker, session_id)
        if summary is not None:
            found["transcript"] = {**_summary_json(summary), "from": "worker"}
    return found


def _summary_json(summary: transcripts.Summary) -> dict[str, Any]:
    status = task_states.summarized(AgentTaskStatus(), summary, generation=None, now="")
    assert status.transcript is not None
    data = status.transcript.model_dump(by_alias=True, mode="json", exclude={"observed_time"})
    return dict(data)


def _print(report: dict[str, Any]) -> None:
    where = f"worker {report['worker']}" if report["worker"] else "no worker yet"
    title = f"task {report['task']} on {where}" if report["task"] else where
    console.print(f"[bold]== {title} (pool {report['pool']})[/bold]")
    if report["workerGone"]:
        errors.print(f"worker {report['worker']} is gone: its pane and provisioning output too")
    if report["provisioning"] is not None:
        console.print("[bold]== provisioning[/bold]")
        typer.echo(report["provisioning"].rstrip("\n"))
    if report["pane"] is not None:
        console.print(f"[bold]== pane (window 1{_whose(report)})[/bold]")
        typer.echo(report["pane"].rstrip("\n"))
    summary = report["transcript"]
    if summary is not None:
        console.print(f"[bold]== transcript (from the {summary['from']})[/bold]")
        typer.echo(_describe(summary))


def _whose(report: dict[str, Any]) -> str:
    """Whose agent the pane shows, where it may not be the task's own any more."""
    if report["paneTask"] is None:
        return ": the worker is idle now"
    if report["paneTask"] != report["task"]:
        return f": now working on {report['paneTask']}"
    return ""


def _describe(summary: dict[str, Any]) -> str:
    return "\n".join(f"{label}: {value}" for label, value in output.transcript(summary))


async def _follow(target: Target, subject: Subject, shown: str) -> None:
    """Print what changes in the pane until the task ends (or the worker goes)."""
    assert subject.provider is not None and subject.worker_name is not None
    session = naming.session_name(subject.pool)
    before = shown.splitlines()
    while True:
        await asyncio.sleep(FOLLOW_SECONDS)
        pane = await panes.capture(subject.provider, subject.worker_name, session=session)
        if pane is None:
            fail(f"worker {subject.worker_name} has no agent window any more")
        now = pane.splitlines()
        same = next((i for i, (a, b) in enumerate(zip(before, now, strict=False)) if a != b), None)
        start = min(len(before), len(now)) if same is None else same
        for line in now[start:]:
            typer.echo(line)
        before = now
        if subject.task is not None and await _finished(target, subject.task["metadata"]["name"]):
            return


async def _finished(target: Target, task: str) -> bool:
    body = await reading.find(target, "agenttasks", task)
    return body is None or task_states.is_finished(st.load(AgentTaskStatus, body))
