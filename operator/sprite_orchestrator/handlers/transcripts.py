"""A task's session transcript: its summary in the task's status, its cost in the metrics, and
a copy in the operator's state dir before the worker forgets it (a recycled worker starts a
new session; a destroyed one takes its files along).

Reading the summary is one exec, so while the agent works it is refreshed only every
`REFRESH_POLLS` polls; it is always read once more when the task is released.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pathlib

from sprite_orchestrator.core import deadlines
from sprite_orchestrator.core import tasks as task_states
from sprite_orchestrator.core import transcripts as summaries
from sprite_orchestrator.handlers import status as st
from sprite_orchestrator.handlers.objects import TASKS, task_status
from sprite_orchestrator.handlers.runtime import Runtime, parse_iso
from sprite_orchestrator.kube import Body, NotFound
from sprite_orchestrator.models import AgentTaskStatus
from sprite_orchestrator.providers.base import Provider, ProviderError
from sprite_orchestrator.worker import transcript
from sprite_orchestrator.worker.remote import WorkerError

logger = logging.getLogger(__name__)

REFRESH_POLLS = 12
# How long a released task waits for its agent's last transcript records (Claude writes
# them as it exits); an agent that writes none costs this much once.
END_WAIT_SECONDS = 3.0


def saved_path(state_dir: pathlib.Path, namespace: str, task: str) -> pathlib.Path:
    """Where the operator keeps a finished task's transcript."""
    return state_dir / "transcripts" / namespace / f"{task}.jsonl"


def due(status: AgentTaskStatus, *, poll_seconds: float, now: float) -> bool:
    """A running task's summary is `REFRESH_POLLS` polls old (or missing)."""
    if status.session_id is None:
        return False
    last = parse_iso(status.transcript.observed_time) if status.transcript else None
    return last is None or deadlines.expired(last, int(REFRESH_POLLS * poll_seconds), now=now)


async def refresh(
    rt: Runtime,
    provider: Provider,
    namespace: str,
    worker: str,
    task: Body,
    *,
    end_wait: float = 0.0,
) -> None:
    """Read the summary on the worker into the task's status; count what the cost grew by.

    A summary is never worth failing a reconciliation: a transcript that cannot be read is
    logged, and read again at the next poll.
    """
    status = task_status(task)
    if status.session_id is None:
        return
    try:
        summary = await transcript.summary(provider, worker, status.session_id, end_wait=end_wait)
    except (WorkerError, ProviderError) as exc:
        logger.warning(f"the transcript of {task['metadata']['name']} on {worker}: {exc}")
        return
    if summary is not None:
        await _record(rt, namespace, task, summary)


async def keep(
    rt: Runtime, provider: Provider, namespace: str, worker: str, task: str, *, ended: bool
) -> None:
    """Before the worker moves on: the final summary, and a copy in the state dir.

    `ended`: the task's agent was told to exit, so its transcript is about to be complete.
    Never in the way of releasing a worker: a transcript that cannot be read is logged.
    """
    try:
        body = await rt.kube.get(TASKS, namespace, task)
    except NotFound:
        return
    session_id = task_status(body).session_id
    if session_id is None:
        return
    end_wait = END_WAIT_SECONDS if ended else 0.0
    await refresh(rt, provider, namespace, worker, body, end_wait=end_wait)
    try:
        found = await transcript.copy(provider, worker, session_id)
    except (WorkerError, ProviderError) as exc:
        logger.warning(f"the transcript of {task} on {worker} could not be kept: {exc}")
        return
    if found is None:
        return
    try:
        await asyncio.to_thread(_write, saved_path(rt.state_dir, namespace, task), found.data)
    except OSError as exc:  # a full or read-only state volume must not keep the worker
        logger.warning(f"the transcript of {task} could not be saved: {exc}")


async def _record(rt: Runtime, namespace: str, task: Body, summary: summaries.Summary) -> None:
    now = rt.stamp()
    before = 0.0

    def change(body: Body, status: AgentTaskStatus) -> AgentTaskStatus:
        nonlocal before
        before = _cost(status)
        generation = body["metadata"].get("generation")
        return task_states.summarized(status, summary, generation=generation, now=now)

    name = task["metadata"]["name"]
    try:
        written, status = await st.update(rt.kube, TASKS, namespace, name, AgentTaskStatus, change)
    except NotFound:
        return
    rt.tasks.keep("MODIFIED", written)  # the next poll starts from it
    grown = _cost(status) - before
    if grown > 0:
        pool = str((task.get("spec") or {}).get("pool", ""))
        rt.metrics.task_cost(namespace, pool, grown)


def _cost(status: AgentTaskStatus) -> float:
    return (status.transcript.cost_usd if status.transcript else None) or 0.0


def _write(path: pathlib.Path, data: bytes) -> None:
    """Atomically, readable by the operator alone: a transcript holds what the agent saw."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    partial.replace(path)
