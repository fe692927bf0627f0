"""The live view of `dispatch --wait`: one line per phase of the task, redrawn as it moves.

Scheduled (or why it waits, and where in the queue), the worker's provisioning, Delivered,
the agent's state, NeedsInput, Succeeded: read from the task's conditions and its pool's
workers, so what the view says is what `kubectl get at,wk` would say.
"""

from __future__ import annotations

import dataclasses

from rich.console import Group
from rich.table import Table
from rich.text import Text

from sprite_orchestrator.core import conditions as c
from sprite_orchestrator.core import tasks as task_states
from sprite_orchestrator.handlers import status as st
from sprite_orchestrator.kube import Body
from sprite_orchestrator.models import AgentTaskStatus, Condition, WorkerStatus

DONE, WORKING, WAITING, FAILED, LATER = "✔", "…", "⏸", "✘", "·"
STYLES = {DONE: "green", WORKING: "cyan", WAITING: "yellow", FAILED: "red", LATER: "dim"}


@dataclasses.dataclass(frozen=True)
class Phase:
    """One line of the view."""

    mark: str
    name: str
    detail: str


def phases(task: Body, workers: list[Body]) -> list[Phase]:
    """The task's phases as they stand, from its status and its pool's workers."""
    status = st.load(AgentTaskStatus, task)
    found = {x.type: x for x in status.conditions}
    lines = [_scheduled(found.get(c.SCHEDULED), status)]
    lines += _provisioning(status, workers, scheduled=c.is_true(status.conditions, c.SCHEDULED))
    lines.append(_delivered(found.get(c.DELIVERED)))
    lines.append(_agent(status))
    needs = found.get(c.NEEDS_INPUT)
    if needs is not None and needs.status == "True":
        hint = f"{needs.message}: orchestrator send {status.worker_name} TEXT, or attach"
        lines.append(Phase(WAITING, "NeedsInput", hint))
    lines.append(_succeeded(found.get(c.SUCCEEDED)))
    return lines


def render(name: str, task: Body, workers: list[Body]) -> Group:
    """The view of the task now."""
    grid = Table.grid(padding=(0, 1))
    for phase in phases(task, workers):
        grid.add_row(
            Text(phase.mark, style=STYLES[phase.mark]),
            Text(f"{phase.name:<12}", style="bold" if phase.mark != LATER else "dim"),
            Text(phase.detail),
        )
    return Group(Text(f"agenttask/{name}", style="bold"), grid)


def _scheduled(found: Condition | None, status: AgentTaskStatus) -> Phase:
    if found is None:
        return Phase(WORKING, "Scheduled", "the operator has not seen the task yet")
    if found.status == "True":
        return Phase(DONE, "Scheduled", found.message)
    if task_states.is_finished(status):
        return Phase(FAILED, "Scheduled", f"{found.reason}: {found.message}")
    return Phase(WAITING, "Scheduled", f"waiting ({found.reason}): {found.message}")


def _provisioning(status: AgentTaskStatus, workers: list[Body], *, scheduled: bool) -> list[Phase]:
    """Workers being provisioned: the task's own, or (while it waits) the pool's new ones."""
    out = []
    for worker in workers:
        name = worker["metadata"]["name"]
        if scheduled and name != status.worker_name:
            continue
        found = c.find(st.load(WorkerStatus, worker).conditions, c.PROVISIONED)
        if found is None or found.status == "Unknown":
            detail = found.message if found else "waiting for the operator"
            out.append(Phase(WORKING, "Provisioning", f"{name}: {detail}"))
        elif found.status == "False" and not scheduled:
            out.append(Phase(FAILED, "Provisioning", f"{name}: {found.reason}: {found.message}"))
    return out


def _delivered(found: Condition | None) -> Phase:
    if found is not None and found.status == "True":
        return Phase(DONE, "Delivered", found.message)
    return Phase(LATER, "Delivered", "not yet")


def _agent(status: AgentTaskStatus) -> Phase:
    state = status.agent_state
    if state is None:
        return Phase(LATER, "Agent", "not started on the task yet")
    mark = {"agent:completed": DONE, "agent:error": FAILED}.get(state, WORKING)
    return Phase(mark, "Agent", state)


def _succeeded(found: Condition | None) -> Phase:
    if found is None or found.status == "Unknown":
        return Phase(LATER, "Succeeded", found.reason if found else "")
    if found.status == "True":
        return Phase(DONE, "Succeeded", f"{found.reason}: {found.message}")
    return Phase(FAILED, "Succeeded", f"{found.reason}: {found.message}")
