"""Putting a prompt into the agent exactly once, byte for byte (ARCHITECTURE §3), and giving
each task a fresh agent session.

The bytes are `core.prompts.encode(prompt)`; they travel on the stdin of one exec of
`deliver.sh`, which verifies their sha256, claims the task's marker on the machine *before*
it pastes, and records the proof after. A re-run after a crash anywhere finds the marker and
does not paste again: at most one paste per marker, and `pasted=True` at most once.

Sessions: `restart_agent` starts a new agent whose Claude session id the operator chooses
(`--session-id`), and `deliver` reports the session that received the prompt, so the task can
name its transcript (`~/.claude/projects/<cwd>/<session id>.jsonl`).
"""

from __future__ import annotations

import dataclasses
import uuid

from sprite_orchestrator.core import prompts
from sprite_orchestrator.providers.base import Provider
from sprite_orchestrator.worker import remote
from sprite_orchestrator.worker.remote import WorkerError

_DELIVER_TIMEOUT_SECONDS = 30.0
_RESTART_TIMEOUT_SECONDS = 30.0

# Reasons of DeliveryFailed, for the AgentTask's conditions.
PROMPT_CORRUPTED = "PromptCorrupted"  # stdin did not hash as expected: nothing claimed, retry
AGENT_NOT_READY = "AgentNotReady"  # no session, window or live pane: nothing claimed, retry
PASTE_FAILED = "PasteFailed"  # claimed, then tmux failed: never retried (at most once)


class DeliveryFailed(WorkerError):
    """The prompt was not pasted; `reason` says whether the marker was claimed."""


@dataclasses.dataclass(frozen=True)
class Delivery:
    """What a delivery did. For `pasted=False` the marker's record is reported.

    `confirmed` is False when the marker was claimed but no delivery was recorded (an
    earlier run died between claim and record, or tmux failed): the prompt may or may not
    have reached the agent, and it will not be pasted again.
    """

    sha256: str
    bytes_len: int
    pasted: bool
    confirmed: bool = True
    tmux_seconds: float | None = None  # the one tmux call, measured on the machine
    # The agent session that received the prompt, as its SessionStart hook recorded it (the
    # id restart_agent chose, for an agent it started); None if no hook had reported one.
    session_id: str | None = None


async def deliver(
    provider: Provider, name: str, *, session: str, marker: str, prompt: str
) -> Delivery:
    """Paste `prompt` into window 1 of `session` and press Enter, once per `marker`."""
    data = prompts.encode(prompt)
    digest = prompts.sha256(data)
    result = await remote.run(
        provider,
        name,
        "deliver.sh",
        remote.marker_name(marker),
        remote.session_name(session),
        digest,
        stdin=data,
        timeout=_DELIVER_TIMEOUT_SECONDS,
    )
    reply = remote.fields(result.stdout)
    outcome = reply.get("result")
    if outcome == "pasted":  # even if recording the proof failed after it
        micros = reply.get("tmux_us", "")
        seconds = int(micros) / 1e6 if micros.isdigit() else None
        session_id = reply.get("session_id") or None
        return Delivery(digest, len(data), pasted=True, tmux_seconds=seconds, session_id=session_id)
    if outcome == "already" and result.ok:
        return _already(reply, digest, len(data))
    detail = reply.get("detail") or remote.tail(result.stderr or result.stdout, 512)
    reason = {"corrupt": PROMPT_CORRUPTED, "not-ready": AGENT_NOT_READY}.get(
        outcome or "", PASTE_FAILED
    )
    raise DeliveryFailed(f"delivery of {marker} to {name} failed: {detail}", reason=reason)


def _already(reply: dict[str, str], digest: str, size: int) -> Delivery:
    """The marker's record: what was delivered then, not what was asked now."""
    if reply.get("state") != "delivered":
        return Delivery(digest, size, pasted=False, confirmed=False)
    recorded = reply.get("bytes", "")
    return Delivery(
        reply.get("sha256") or digest,
        int(recorded) if recorded.isdigit() else size,
        pasted=False,
        session_id=reply.get("session_id") or None,
    )


async def restart_agent(
    provider: Provider, name: str, *, session: str, session_id: str | None = None
) -> str:
    """A fresh agent in window 1, with a new Claude session: returns the session's id.

    `session_id` (a UUID; a new random one by default) is passed to Claude as `--session-id`,
    so the operator knows the next task's session, and its transcript, before the agent even
    starts. The status is reset to `starting` first and the pane respawned: the new agent's
    SessionStart hook turns the state to waiting; until then the status hook ignores the old
    agent's last words.
    """
    chosen = remote.session_id(session_id or str(uuid.uuid4()))
    result = await remote.run(
        provider,
        name,
        "restart.sh",
        remote.session_name(session),
        chosen,
        timeout=_RESTART_TIMEOUT_SECONDS,
    )
    reply = remote.fields(result.stdout)
    if not result.ok or reply.get("result") != "restarted":
        detail = reply.get("detail") or remote.tail(result.stderr or result.stdout, 512)
        raise DeliveryFailed(
            f"restarting the agent on {name} failed: {detail}", reason=AGENT_NOT_READY
        )
    return chosen
