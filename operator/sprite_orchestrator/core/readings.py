"""What the agent is doing, read from one poll: hook state, overridden by ground truth."""

from __future__ import annotations

import dataclasses

from sprite_orchestrator.models.worker import AgentState

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
    source: str = "window"  # window | pane | session
    detail: str = ""


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
) -> Reading:
    """Window 1's name is the protocol; a dead pane or a missing session beats it.

    An agent that completed its turn and then exited (SessionEnd after Stop) still
    completed: the hook's `prior_state` says so, and a dead pane does not undo it.
    """
    if not session_exists:
        return Reading(
            "agent:error",
            error="SessionGone",
            source="session",
            detail="the tmux session of the agent is gone",
        )
    if pane_dead:
        if "completed" in (hook_state, prior_state):
            return Reading(
                "agent:completed", source="hook", detail="the agent completed its turn, then exited"
            )
        code = "" if pane_dead_status is None else f" with status {pane_dead_status}"
        return Reading(
            "agent:error",
            error="AgentExited",
            source="pane",
            detail=f"the agent process exited{code}",
        )
    state = STATES.get(window_name or "")
    if state == "agent:error":
        return Reading(
            state,
            error=error or "AgentError",
            source="window",
            detail=f"the agent reported an error: {error or 'unknown'}",
        )
    return Reading(state, needs_input=needs_input and state == "agent:running", source="window")


def agent_gone(reading: Reading) -> bool:
    """The agent process or its session is gone: the worker needs a new one."""
    return reading.source in ("pane", "session") or (
        reading.source == "hook" and reading.state == "agent:completed"
    )
