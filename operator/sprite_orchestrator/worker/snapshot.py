"""Work is never lost: the agent's work saved to `wip/<task>`, and the repo reset after it.

One exec of `snapshot.sh`: HEAD plus every uncommitted change becomes a commit on the branch
(built in a private index, so the running agent's index and tree are untouched), pushed
where the remote accepts it. Between tasks the same call resets the repo to the pool's ref.
"""

from __future__ import annotations

import dataclasses
import re

from sprite_orchestrator.providers.base import Provider
from sprite_orchestrator.worker import remote

_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,200}")
_TIMEOUT_SECONDS = 180.0


class SnapshotFailed(remote.WorkerError):
    """The work could not be saved; the caller must not reset or destroy the repo."""


class NoRepo(SnapshotFailed):
    """The machine has no repo at all (wiped under the agent): there is nothing to save."""


_NO_REPO = 4  # snapshot.sh's exit code when the repo directory is missing


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """Where the work is now."""

    branch: str
    commit: str
    changed: bool  # uncommitted changes were captured in a new commit
    pushed: bool  # the remote has the branch
    reset: bool  # the repo was reset for the next task


def branch_for(task: str) -> str:
    """The branch that keeps a task's work: `wip/<task>`."""
    return f"wip/{task}"


def _ref(value: str) -> str:
    if not _REF.fullmatch(value) or ".." in value or value.endswith((".lock", "/")):
        raise ValueError(f"not a git ref name we pass on: {value!r}")
    return value


async def save(
    provider: Provider,
    name: str,
    *,
    repo_dir: str,
    branch: str,
    reset_to: str | None = None,
    reset: bool = False,
) -> Snapshot:
    """Save the work on `branch`; with `reset`, then reset to `reset_to` (None: the default)."""
    args = [remote.dir_name(repo_dir), _ref(branch)]
    if reset:
        args.append(_ref(reset_to) if reset_to else "-")
    result = await remote.run(provider, name, "snapshot.sh", *args, timeout=_TIMEOUT_SECONDS)
    reply = remote.fields(result.stdout)
    if not result.ok or "commit" not in reply:
        detail = reply.get("detail") or remote.tail(result.stderr or result.stdout, 512)
        if result.exit_code == _NO_REPO:
            raise NoRepo(f"nothing to save on {name}: {detail}", reason="NoRepo")
        raise SnapshotFailed(f"saving the work on {name} failed: {detail}", reason="SnapshotFailed")
    return Snapshot(
        branch=branch,
        commit=reply["commit"],
        changed=reply.get("changed") == "yes",
        pushed=reply.get("pushed") == "yes",
        reset=reply.get("reset") == "yes",
    )
