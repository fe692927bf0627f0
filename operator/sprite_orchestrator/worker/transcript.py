"""The agent's session transcript on a worker: read in one exec, summarised, or copied off.

Claude Code keeps it at `~/.claude/projects/<cwd with / as ->/<session id>.jsonl`; the
session id is the one the operator chose for the task (AgentTask `status.sessionId`). What
travels is bounded: a summary reads only the lines it needs (`SUMMARY_BYTES` at most, the
newest kept), a copy at most `COPY_BYTES` (the newest kept, whole lines).
"""

from __future__ import annotations

import dataclasses

from sprite_orchestrator.core import transcripts
from sprite_orchestrator.providers.base import Provider
from sprite_orchestrator.worker import remote
from sprite_orchestrator.worker.remote import WorkerError

SUMMARY_BYTES = 8 * 1024 * 1024
COPY_BYTES = 32 * 1024 * 1024
_TIMEOUT_SECONDS = 60.0


@dataclasses.dataclass(frozen=True)
class Transcript:
    """What was read: the file's size on the worker, and its (newest) whole lines."""

    size: int
    data: bytes

    @property
    def truncated(self) -> bool:
        return len(self.data) < self.size


async def read(
    provider: Provider,
    name: str,
    session_id: str,
    *,
    summary: bool = False,
    limit: int,
    end_wait: float = 0.0,
) -> Transcript | None:
    """The transcript of `session_id` on machine `name` (None if it has none) in one exec.

    `end_wait` seconds at most are spent waiting for the session's last record, for an agent
    that was just told to exit: Claude writes its transcript in the background, so the end
    of a turn may reach the file after the Stop hook that ended the task.
    """
    what = "summary" if summary else "all"
    result = await remote.run(
        provider,
        name,
        "transcript.sh",
        remote.session_id(session_id),
        what,
        str(int(limit)),
        str(int(end_wait * 10)),
        timeout=_TIMEOUT_SECONDS + end_wait,
    )
    head, _, body = result.stdout.partition(b"\n\n")
    found = remote.fields(head)
    if not result.ok or found.get("result") not in ("found", "missing"):
        detail = remote.tail(result.stderr or result.stdout, 512)
        raise WorkerError(f"reading the transcript on {name} failed: {detail}", reason="Transcript")
    if found["result"] == "missing":
        return None
    size = int(found.get("size") or 0)
    if (len(body) >= limit) if summary else (size > limit):  # cut: its first line is partial
        body = body[body.find(b"\n") + 1 :]
    return Transcript(size=size, data=body)


async def summary(
    provider: Provider, name: str, session_id: str, *, end_wait: float = 0.0
) -> transcripts.Summary | None:
    """The summary of the session's transcript on the worker, or None if there is none."""
    found = await read(
        provider, name, session_id, summary=True, limit=SUMMARY_BYTES, end_wait=end_wait
    )
    return None if found is None else transcripts.summarize(found.data.splitlines())


async def copy(provider: Provider, name: str, session_id: str) -> Transcript | None:
    """The session's transcript (its newest `COPY_BYTES` at most), to keep off the worker."""
    return await read(provider, name, session_id, limit=COPY_BYTES)
