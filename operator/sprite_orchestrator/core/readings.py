"""What the agent is doing, read from one poll: hook state, overridden by ground truth."""

from __future__ import annotations

import dataclasses

from sprite_orchestrator.models.worker import AgentState

# A turn ends with the Stop hook right after Claude turns idle; idle this much longer (more
# than a hook's 10 s timeout) under a window still saying running, the turn was interrupted.
INTERRUPTED_AFTER_SECONDS = 15.0

STATES: dict[str, AgentState] = {
    "agent:waiting": "agent:waiting",
    "agent:running": "agent:running",
    "agent:completed": "agent:completed",
    "agent:error": "agent:error",
}


@dataclasses.dataclass(frozen=True)
class Reading:
    """The agent's state as the operator believes it, and why."""

    state: AgentState | None
    needs_input: bool = False
    error: str | None = None
    source: str = "window"  # window | pane | session | hook | agent (Claude's own view)
    detail: str = ""
    # Seconds between the source's evidence and the poll (0 for what the poll itself saw),
    # None when unknown: the hook's write for window and hook, Claude's change for agent.
    age: float | None = None


def read(
    *,
    session_exists: bool,
    window_name: str | None,
    pane_dead: bool,
    pane_dead_status: int | None = None,
    needs_input: bool = False,
    error: str | None = None,
    hook_state: str | None = None,
    prior_state: str | None = None,
    activity: str | None = None,
    activity_age: float | None = None,
    hook_age: float | None = None,
) -> Reading:
    """Window 1's name is the protocol; a dead pane or a missing session beats it.

    An agent that completed its turn and then exited (SessionEnd after Stop) still
    completed: the hook's `prior_state` says so, and a dead pane does not undo it. Claude's
    own `activity` beats a stale "running": idle long after the window said running, its
    turn was interrupted (Esc runs no hook) and it waits at its prompt for a person.
    """
    if not session_exists:
        return Reading(
            "agent:error",
            error="SessionGone",
            source="session",
            detail="the tmux session of the agent is gone",
            age=0.0,
        )
    if pane_dead:
        if "completed" in (hook_state, prior_state):
            detail = "the agent completed its turn, then exited"
            return Reading("agent:completed", source="hook", detail=detail, age=hook_age)
        code = "" if pane_dead_status is None else f" with status {pane_dead_status}"
        return Reading(
            "agent:error",
            error="AgentExited",
            source="pane",
            detail=f"the agent process exited{code}",
            age=0.0,
        )
    state = STATES.get(window_name or "")
    if state == "agent:error":
        return Reading(
            state,
            error=error or "AgentError",
            source="window",
            detail=f"the agent reported an error: {error or 'unknown'}",
            age=hook_age,
        )
    if state == "agent:running" and _interrupted(activity, activity_age):
        detail = "the turn was interrupted: Claude is idle at its prompt"
        return Reading(state, needs_input=True, source="agent", detail=detail, age=activity_age)
    if state == "agent:running" and activity == "waiting":
        detail = "Claude waits for input"
        return Reading(state, needs_input=True, source="agent", detail=detail, age=activity_age)
    needs = needs_input and state == "agent:running"
    return Reading(state, needs_input=needs, source="window", age=hook_age)


def _interrupted(activity: str | None, age: float | None) -> bool:
    return activity == "idle" and age is not None and age >= INTERRUPTED_AFTER_SECONDS


def agent_gone(reading: Reading) -> bool:
    """The agent process or its session is gone: the worker needs a new one."""
    return reading.source in ("pane", "session") or (
        reading.source == "hook" and reading.state == "agent:completed"
    )
