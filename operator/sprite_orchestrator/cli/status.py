"""`orchestrator status`: every task at a glance, or one task in full."""

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
from sprite_orchestrator.core import allocation, prompts
from sprite_orchestrator.core import conditions as c
from sprite_orchestrator.core import tasks as task_states
from sprite_orchestrator.handlers import status as st
from sprite_orchestrator.handlers.objects import task_view
from sprite_orchestrator.kube import Body
from sprite_orchestrator.models import AgentTaskStatus

TASKS = "agenttasks"
COLUMNS = ("name", "pool", "worker", "agent", "succeeded", "reason", "queue", "age")


@app.command()
def status(
    task: Annotated[str | None, typer.Argument(help="One AgentTask in full.")] = None,
    output_format: Output = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
) -> None:
    """Tasks: where each runs, its agent, how it ended; a waiting one says why and its place."""
    target = connect(kubeconfig, context, namespace)
    if task is None:
        rows = run(target, _rows(target))
        if output_format is not None:
            output.emit(rows, output_format)
        else:
            _print_rows(rows)
        return
    body, events, place = run(target, _one(target, task))
    if output_format is not None:
        output.emit({"task": body, "events": events}, output_format)
    else:
        _print_one(body, events, place)


async def _rows(target: Target) -> list[dict[str, Any]]:
    bodies = await reading.listing(target, TASKS)
    places = queue_places(bodies)
    return [row(body, places.get(body["metadata"]["name"])) for body in bodies]


async def _one(target: Target, name: str) -> tuple[Body, list[Body], tuple[int, int] | None]:
    """The task, its events, and its place in the queue if it waits."""
    body = await reading.get(target, TASKS, name)
    place = None
    if waiting(st.load(AgentTaskStatus, body)) is not None:
        place = queue_places(await reading.listing(target, TASKS)).get(name)
    return body, await reading.events(target, "AgentTask", name), place


def queue_places(bodies: list[Body]) -> dict[str, tuple[int, int]]:
    """Each waiting task's (position, queue length) in its pool's queue, as the operator
    serves it. Computed here, on demand: the operator does not write positions, which
    would change on every bind for every queued task."""
    by_pool: dict[str, list[Body]] = {}
    for body in bodies:
        if waiting(st.load(AgentTaskStatus, body)) is not None:
            by_pool.setdefault(str((body.get("spec") or {}).get("pool")), []).append(body)
    places: dict[str, tuple[int, int]] = {}
    for queued in by_pool.values():
        places.update(allocation.positions([task_view(b) for b in queued]))
    return places


def waiting(status: AgentTaskStatus, place: tuple[int, int] | None = None) -> dict[str, Any] | None:
    """Why a task in flight has no worker, and where it stands in the pool's queue."""
    scheduled = c.find(status.conditions, c.SCHEDULED)
    if task_states.is_finished(status) or scheduled is None or scheduled.status == "True":
        return None
    return {
        "reason": scheduled.reason,
        "message": scheduled.message,
        "position": place[0] if place else None,
        "queueLength": place[1] if place else None,
    }


def row(body: Body, place: tuple[int, int] | None = None) -> dict[str, Any]:
    """What the table shows of one task, with stable keys for scripts."""
    status = st.load(AgentTaskStatus, body)
    done = c.find(status.conditions, c.SUCCEEDED)
    return {
        "name": body["metadata"]["name"],
        "pool": (body.get("spec") or {}).get("pool"),
        "worker": status.worker_name,
        "agentState": status.agent_state,
        "needsInput": c.is_true(status.conditions, c.NEEDS_INPUT),
        "succeeded": done.status if done else None,
        "reason": done.reason if done else None,
        "waiting": waiting(status, place),
        "creationTimestamp": body["metadata"].get("creationTimestamp"),
    }


def _print_rows(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("no tasks yet: orchestrator dispatch --repo POOL --command '…'")
        return
    output.table(COLUMNS, [_cells(r) for r in rows])
    for r in rows:
        if r["waiting"] and r["waiting"]["message"]:
            console.print(f"[dim]{r['name']} waits: {r['waiting']['message']}[/dim]")
        if r["needsInput"]:
            console.print(
                f"[yellow]{r['name']} needs input:[/yellow] "
                f"orchestrator attach {r['worker']}, or orchestrator send {r['worker']} TEXT"
            )


def _cells(r: dict[str, Any]) -> list[str]:
    wait = r["waiting"]
    reason = wait["reason"] if wait else r["reason"]
    if r["needsInput"]:
        reason = "NeedsInput"
    queue = f"{wait['position']}/{wait['queueLength']}" if wait and wait["position"] else "-"
    return [
        r["name"],
        r["pool"] or "-",
        r["worker"] or "-",
        r["agentState"] or "-",
        r["succeeded"] or "-",
        reason or "-",
        queue,
        output.age(r["creationTimestamp"]),
    ]


def _print_one(body: Body, events: list[Body], place: tuple[int, int] | None) -> None:
    spec, status = body.get("spec") or {}, st.load(AgentTaskStatus, body)
    meta = body["metadata"]
    console.print(f"[bold]agenttask/{meta['name']}[/bold]  pool {spec.get('pool')}")
    for label, value in _summary(spec, status, meta, place):
        console.print(f"  {label + ':':<12} {value}", markup=False)  # a prompt may hold [x]
    if status.transcript is not None:
        seen = output.age(status.transcript.observed_time)
        more = f"orchestrator logs {meta['name']} shows more"
        console.print(f"[bold]Transcript[/bold] (read {seen} ago; {more})")
        for label, value in output.transcript(status.transcript.model_dump(by_alias=True)):
            console.print(f"  {label + ':':<12} {value}", markup=False)
    console.print("[bold]Conditions[/bold]")
    output.table(
        ("type", "status", "reason", "since", "message"),
        [
            [x.type, x.status, x.reason, output.age(x.last_transition_time), x.message]
            for x in status.conditions
        ],
    )
    console.print("[bold]Events[/bold]")
    output.table(
        ("age", "type", "reason", "message"),
        [
            [
                output.age(reading.event_time(e)),
                str(e.get("type") or ""),
                str(e.get("reason") or ""),
                str(e.get("message") or ""),
            ]
            for e in events
        ]
        or [["-", "-", "-", "no events"]],
    )


def _summary(
    spec: dict[str, Any], status: AgentTaskStatus, meta: Body, place: tuple[int, int] | None
) -> list[tuple[str, str]]:
    prompt = spec.get("prompt")
    if prompt is not None:
        data = prompts.encode(prompt)
        first = prompt.strip().splitlines()[0][:70] if prompt.strip() else ""
        what = f"{len(data)} bytes, {first!r}"
    else:
        what = "from " + ", ".join(sorted((spec.get("promptFrom") or {}).keys()))
    lines = [
        ("prompt", what),
        ("sha256", status.prompt_sha256 or "- (not delivered yet)"),
        ("worker", status.worker_name or "-"),
        ("agent", _agent(status)),
        ("attempts", str(status.attempts)),
        ("timeout", f"{spec['timeoutSeconds']}s" if spec.get("timeoutSeconds") else "none"),
        ("retries", f"{spec.get('retries', 0)}, priority {spec.get('priority', 0)}"),
        ("created", _when(meta.get("creationTimestamp"))),
        ("started", _when(status.start_time)),
        ("delivered", _when(status.delivered_time)),
        ("completed", _when(status.completion_time)),
    ]
    if status.work_branch:
        lines.append(("work", f"{status.work_branch} at {status.work_commit or '?'}"))
    if status.session_id:
        lines.append(("session", status.session_id))
    wait = waiting(status, place)
    if wait:
        where = f" (position {place[0]} of {place[1]} in the queue)" if place else ""
        lines.append(("waiting", f"{wait['reason']}: {wait['message']}{where}"))
    return lines


def _agent(status: AgentTaskStatus) -> str:
    """The agent's state, who says so and since when."""
    if status.agent_state is None:
        return "-"
    said = [f"from the {status.agent_state_source}"] if status.agent_state_source else []
    if status.agent_state_time:
        said.append(f"for {output.age(status.agent_state_time)}")
    return f"{status.agent_state} ({', '.join(said)})" if said else status.agent_state


def _when(stamp: str | None) -> str:
    return f"{stamp} ({output.age(stamp)} ago)" if stamp else "-"
