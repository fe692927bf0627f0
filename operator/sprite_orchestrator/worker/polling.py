"""Observing a worker's agent in one exec (ARCHITECTURE §3): tmux's view, the hook's view, and
the machine's clock, so the operator can let ground truth (a dead pane, a gone process)
override a stale hook state.

A missing tmux server or session is an observation, not an error; a machine that is gone
raises MachineNotFound (from the provider).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from sprite_orchestrator.providers.base import Provider
from sprite_orchestrator.worker import remote
from sprite_orchestrator.worker.remote import WorkerError

_POLL_TIMEOUT_SECONDS = 20.0
_STATUS_SPLIT = b',"status":'
AGENT_WINDOW = 1


class PollFailed(WorkerError):
    """The poll itself failed (the script did not run or printed no document)."""


@dataclasses.dataclass(frozen=True)
class HookStatus:
    """`~/.sprite-orchestrator/status.json` as the status hook wrote it."""

    state: str  # waiting|running|completed|error, ended (agent exited) or starting (reset)
    event: str | None
    session_id: str | None
    transcript_path: str | None
    needs_input: bool
    error: str | None  # StopFailure's error
    notification_type: str | None
    reason: str | None  # SessionEnd's reason
    prior_state: str | None  # the state before `ended`
    time: int | None  # epoch seconds on the machine
    seq: int  # grows with every write

    @classmethod
    def parse(cls, raw: object) -> HookStatus | None:
        """From the decoded JSON; None if it is not a status object."""
        if not isinstance(raw, dict) or not isinstance(raw.get("state"), str):
            return None
        return cls(
            state=raw["state"],
            event=_str(raw.get("event")),
            session_id=_str(raw.get("session_id")),
            transcript_path=_str(raw.get("transcript_path")),
            needs_input=raw.get("needs_input") is True,
            error=_str(raw.get("error")),
            notification_type=_str(raw.get("notification_type")),
            reason=_str(raw.get("reason")),
            prior_state=_str(raw.get("prior_state")),
            time=_int(raw.get("time")),
            seq=_int(raw.get("seq")) or 0,
        )


@dataclasses.dataclass(frozen=True)
class Observation:
    """One look at a worker: what tmux says, what the hook wrote, and the machine's time."""

    server: bool  # a tmux server answers
    session: bool  # the worker's session exists
    windows: Mapping[int, str]  # index → name; window 1's name is the seed's status protocol
    pane_id: str | None  # window 1's pane, e.g. %1
    pane_dead: bool  # the agent exited and the pane stayed (remain-on-exit)
    # Best effort: tmux sees the pty close before it reaps the process, and tmux 3.3a
    # sometimes never records the exit at all (tmux/tmux#4841). pane_dead is the truth.
    pane_dead_status: int | None
    pane_dead_signal: int | None
    pane_pid: int | None
    agent_alive: bool  # the pane is alive and so is its process
    status: HookStatus | None
    now: int  # the machine's epoch seconds
    # Claude Code's own view of itself (idle|busy|waiting), from its undocumented session
    # file, and seconds since it changed: None for another agent or another release. It is
    # the only witness of a turn interrupted with Esc, which runs no hook.
    activity: str | None = None
    activity_age: float | None = None

    @property
    def agent_window(self) -> str | None:
        """Window 1's name: agent:waiting|running|completed|error, or None without one."""
        return self.windows.get(AGENT_WINDOW)


async def poll(provider: Provider, name: str, *, session: str) -> Observation:
    """Observe the agent of `session` on machine `name` with one exec."""
    result = await remote.run(
        provider, name, "poll.sh", remote.session_name(session), timeout=_POLL_TIMEOUT_SECONDS
    )
    try:
        return parse(result.stdout)
    except ValueError as error:
        detail = remote.tail(result.stderr or result.stdout, 512)
        raise PollFailed(f"polling {name} failed: {error}: {detail}", reason="PollFailed") from None


def parse(output: bytes) -> Observation:
    """The poll's document. A damaged status file costs only `status` (it comes last)."""
    head, split, tail = output.strip().partition(_STATUS_SPLIT)
    if not split:
        raise ValueError("no observation in the output")
    doc = json.loads(head + b"}")
    if not isinstance(doc, dict):
        raise ValueError("the observation is not an object")
    try:
        status = HookStatus.parse(json.loads(tail.removesuffix(b"}")))
    except ValueError:
        status = None
    return _observation(doc, status)


def _observation(doc: dict[str, Any], status: HookStatus | None) -> Observation:
    windows = doc.get("windows")
    return Observation(
        server=doc.get("server") is True,
        session=doc.get("session") is True,
        windows={
            int(k): str(v)
            for k, v in (windows.items() if isinstance(windows, dict) else ())
            if str(k).isdigit()
        },
        pane_id=_str(doc.get("pane_id")),
        pane_dead=doc.get("pane_dead") is True,
        pane_dead_status=_int(doc.get("pane_dead_status")),
        pane_dead_signal=_int(doc.get("pane_dead_signal")),
        pane_pid=_int(doc.get("pane_pid")),
        agent_alive=doc.get("agent_alive") is True,
        status=status,
        now=_int(doc.get("now")) or 0,
        activity=_str(doc.get("activity")),
        activity_age=_seconds(doc.get("activity_age_ms")),
    )


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _seconds(millis: object) -> float | None:
    value = _int(millis)
    return None if value is None else value / 1000
