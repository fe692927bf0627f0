"""Putting a prompt into the agent exactly once, byte for byte (ARCHITECTURE §3).

The bytes are `core.prompts.encode(prompt)`; they travel on the stdin of one exec of
`deliver.sh`, which verifies their sha256, claims the task's marker on the machine *before*
it pastes, and records the proof after. A re-run after a crash anywhere finds the marker and
does not paste again: at most one paste per marker, and `pasted=True` at most once.
"""

from __future__ import annotations

import dataclasses

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
        return Delivery(digest, len(data), pasted=True, tmux_seconds=seconds)
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
    )


async def restart_agent(provider: Provider, name: str, *, session: str) -> None:
    """A fresh agent session in window 1: status reset to `starting`, then the pane respawned.

    The new agent's SessionStart hook turns the state to waiting; until then the status
    hook ignores the old agent's last words.
    """
    result = await remote.run(
        provider,
        name,
        "restart.sh",
        remote.session_name(session),
        timeout=_RESTART_TIMEOUT_SECONDS,
    )
    reply = remote.fields(result.stdout)
    if not result.ok or reply.get("result") != "restarted":
        detail = reply.get("detail") or remote.tail(result.stderr or result.stdout, 512)
        raise DeliveryFailed(
            f"restarting the agent on {name} failed: {detail}", reason=AGENT_NOT_READY
        )
