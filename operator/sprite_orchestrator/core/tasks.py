"""The AgentTask state machine: observations in, status (conditions) out.

Each function takes the current status and one observation and returns the next status; a
re-run with the same observation returns the same status (level-based, crash-safe).
`Succeeded` is the summary: Unknown in flight, True on agent:completed, False with a reason.
"""

from __future__ import annotations

from typing import Any

from sprite_orchestrator.core import conditions as c
from sprite_orchestrator.core import deadlines
from sprite_orchestrator.core.readings import Reading
from sprite_orchestrator.core.transcripts import Summary
from sprite_orchestrator.models.common import ConditionStatus
from sprite_orchestrator.models.task import AgentTaskStatus, TranscriptSummary

# Reasons of Succeeded=False (and of Scheduled=False where the task cannot run).
INVALID_SPEC = "InvalidSpec"
POOL_NOT_FOUND = "PoolNotFound"
AGENT_ERROR = "AgentError"
TIMED_OUT = "TimedOut"
CANCELLED = "Cancelled"
WORKER_LOST = "WorkerLost"
# Reasons while in flight or on success.
PENDING = "Pending"
SCHEDULED = "Scheduled"
PROMPT_DELIVERED = "PromptDelivered"
RUNNING = "Running"
AGENT_COMPLETED = "AgentCompleted"
WAITING_FOR_HUMAN = "WaitingForHuman"
REQUEUED = "Requeued"
# What of a transcript's tool tally fits in status: the most used tools, names cut.
MAX_TOOLS = 64
MAX_TOOL_NAME = 128


def _set(
    status: AgentTaskStatus,
    type_: str,
    value: ConditionStatus,
    reason: str,
    message: str,
    *,
    generation: int | None,
    now: str,
    **fields: Any,
) -> AgentTaskStatus:
    conditions = c.upsert(
        status.conditions,
        type_,
        value,
        reason=reason,
        message=message,
        generation=generation,
        now=now,
    )
    return status.model_copy(
        update={"conditions": conditions, "observed_generation": generation, **fields}
    )


def is_finished(status: AgentTaskStatus) -> bool:
    """Succeeded is True or False: nothing more will happen to this task."""
    found = c.find(status.conditions, c.SUCCEEDED)
    return found is not None and found.status != "Unknown"


def is_delivered(status: AgentTaskStatus) -> bool:
    """The prompt reached the agent: never re-run it elsewhere."""
    return c.is_true(status.conditions, c.DELIVERED)


def initial(status: AgentTaskStatus, *, generation: int | None, now: str) -> AgentTaskStatus:
    """Conditions set on the first visit, Unknown where nothing is known yet."""
    if status.conditions:
        return status
    kw: dict[str, Any] = {"generation": generation, "now": now}
    status = _set(status, c.SCHEDULED, "False", PENDING, "waiting for a worker", **kw)
    status = _set(status, c.DELIVERED, "False", PENDING, "not delivered yet", **kw)
    status = _set(status, c.NEEDS_INPUT, "False", PENDING, "", **kw)
    return _set(status, c.SUCCEEDED, "Unknown", PENDING, "waiting for a worker", **kw)


def admitted(
    status: AgentTaskStatus, queued: str, *, generation: int | None, now: str
) -> AgentTaskStatus:
    """The first conditions, and when the task joined its pool's queue (kept once set)."""
    status = initial(status, generation=generation, now=now)
    if status.queued_time is not None:
        return status
    return status.model_copy(update={"queued_time": queued})


def failed(
    status: AgentTaskStatus, reason: str, message: str, *, generation: int | None, now: str
) -> AgentTaskStatus:
    """The task ends without success; a finished task stays as it ended."""
    if is_finished(status):
        return status
    status = initial(status, generation=generation, now=now)
    kw: dict[str, Any] = {"generation": generation, "now": now}
    if not c.is_true(status.conditions, c.SCHEDULED):
        status = _set(status, c.SCHEDULED, "False", reason, message, **kw)
    status = _set(status, c.NEEDS_INPUT, "False", reason, "", **kw)
    return _set(status, c.SUCCEEDED, "False", reason, message, completion_time=now, **kw)


def waiting(
    status: AgentTaskStatus, reason: str, message: str, *, generation: int | None, now: str
) -> AgentTaskStatus:
    """Not bound yet: say why (PoolExhausted, WaitingForWorker) and where it stands."""
    status = initial(status, generation=generation, now=now)
    kw: dict[str, Any] = {"generation": generation, "now": now}
    status = _set(status, c.SCHEDULED, "False", reason, message, **kw)
    return _set(status, c.SUCCEEDED, "Unknown", reason, message, **kw)


def scheduled(
    status: AgentTaskStatus, worker: str, *, generation: int | None, now: str
) -> AgentTaskStatus:
    """Bound to a worker; attempts count distinct bindings."""
    status = initial(status, generation=generation, now=now)
    if c.is_true(status.conditions, c.SCHEDULED) and status.worker_name == worker:
        return status
    kw: dict[str, Any] = {"generation": generation, "now": now}
    message = f"bound to worker {worker}"
    status = _set(
        status,
        c.SCHEDULED,
        "True",
        SCHEDULED,
        message,
        worker_name=worker,
        attempts=status.attempts + 1,
        start_time=status.start_time or now,
        **kw,
    )
    return _set(status, c.SUCCEEDED, "Unknown", SCHEDULED, message, **kw)


def delivered(
    status: AgentTaskStatus,
    worker: str,
    sha256: str,
    session_id: str | None = None,
    *,
    generation: int | None,
    now: str,
) -> AgentTaskStatus:
    """The prompt is in the agent's input, exactly once; its sha256 is the proof."""
    if is_delivered(status):
        return status
    status = scheduled(status, worker, generation=generation, now=now)
    status = status.model_copy(update={"session_id": session_id})
    kw: dict[str, Any] = {"generation": generation, "now": now}
    message = f"prompt delivered to {status.worker_name} (sha256 {sha256[:12]})"
    status = _set(
        status,
        c.DELIVERED,
        "True",
        PROMPT_DELIVERED,
        message,
        prompt_sha256=sha256,
        delivered_time=now,
        **kw,
    )
    return _set(status, c.SUCCEEDED, "Unknown", PROMPT_DELIVERED, message, **kw)


def observed(
    status: AgentTaskStatus,
    reading: Reading,
    since: str | None = None,
    *,
    generation: int | None,
    now: str,
) -> AgentTaskStatus:
    """Mirror the agent's state after delivery; completed and error end the task.

    The status says who vouches for the state (`agentStateSource`) and since when
    (`agentStateTime`: `since`, the time of that source's evidence, else `now`); both change
    only with the state or its source, so a steady agent costs no status writes.
    """
    if is_finished(status) or not is_delivered(status) or reading.state is None:
        return status
    kw: dict[str, Any] = {"generation": generation, "now": now}
    status = status.model_copy(update=_witnessed(status, reading, since or now))
    if reading.state == "agent:completed":
        status = _set(status, c.NEEDS_INPUT, "False", AGENT_COMPLETED, "", **kw)
        return _set(
            status,
            c.SUCCEEDED,
            "True",
            AGENT_COMPLETED,
            "the agent completed the task",
            completion_time=now,
            **kw,
        )
    if reading.state == "agent:error":
        # Ground truth names itself (AgentExited, SessionGone); the agent's own errors
        # (rate_limit, authentication_failed, …) are AgentError with the error in the message.
        reason = reading.error if reading.source in ("pane", "session") else AGENT_ERROR
        return failed(
            status, reason or AGENT_ERROR, reading.detail or "the agent reported an error", **kw
        )
    if reading.needs_input:
        status = _set(
            status,
            c.NEEDS_INPUT,
            "True",
            WAITING_FOR_HUMAN,
            "the agent waits for a human (permission prompt)",
            **kw,
        )
    else:
        status = _set(status, c.NEEDS_INPUT, "False", RUNNING, "", **kw)
    if reading.state == "agent:running":
        return _set(status, c.SUCCEEDED, "Unknown", RUNNING, "the agent is working", **kw)
    return status


def _witnessed(status: AgentTaskStatus, reading: Reading, since: str) -> dict[str, Any]:
    same = (status.agent_state, status.agent_state_source) == (reading.state, reading.source)
    return {
        "agent_state": reading.state,
        "agent_state_source": reading.source,
        "agent_state_time": status.agent_state_time if same else since,
    }


def summarized(
    status: AgentTaskStatus, summary: Summary, *, generation: int | None, now: str
) -> AgentTaskStatus:
    """The transcript's summary as read `now`; an unchanged one is not written again."""
    tools = sorted(summary.tool_uses.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TOOLS]
    fresh = TranscriptSummary(
        turns=summary.turns,
        tool_uses={name[:MAX_TOOL_NAME]: count for name, count in sorted(tools)},
        last_message=summary.last_message,
        input_tokens=summary.input_tokens,
        output_tokens=summary.output_tokens,
        cost_usd=summary.cost_usd,
        cost_source=summary.cost_source,
    )
    old = status.transcript
    if old is not None and old.model_copy(update={"observed_time": None}) == fresh:
        return status
    return status.model_copy(update={"transcript": fresh.model_copy(update={"observed_time": now})})


def saved(
    status: AgentTaskStatus, branch: str, commit: str, *, generation: int | None, now: str
) -> AgentTaskStatus:
    """The agent's work is on `branch` at `commit` (the 30-minute rule, or before a reset)."""
    return status.model_copy(
        update={"work_branch": branch, "work_commit": commit, "last_snapshot_time": now}
    )


def requeued(
    status: AgentTaskStatus, message: str, *, generation: int | None, now: str
) -> AgentTaskStatus:
    """Its worker was lost before the prompt was delivered: back to the queue."""
    if is_finished(status) or is_delivered(status):
        return status
    kw: dict[str, Any] = {"generation": generation, "now": now}
    status = _set(status, c.SCHEDULED, "False", REQUEUED, message, worker_name=None, **kw)
    return _set(status, c.SUCCEEDED, "Unknown", REQUEUED, message, **kw)


def stop_reason(
    *, cancelled: bool, deleting: bool, created: float | None, timeout: int | None, now: float
) -> tuple[str, str] | None:
    """Why a task still in flight must stop now: cancelled, deleted, or past its timeout."""
    if deleting:
        return CANCELLED, "the task was deleted; its work was saved first"
    if cancelled:
        return CANCELLED, "cancelled by spec.cancelled; its work was saved"
    if deadlines.expired(created, timeout, now=now):
        return TIMED_OUT, f"not done within timeoutSeconds={timeout}; its work was saved"
    return None
