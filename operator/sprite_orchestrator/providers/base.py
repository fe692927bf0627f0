"""The one Protocol every provider of worker machines implements.

The worker code (provisioning, delivery, polling) is written once on top of it and never
knows which provider it runs on: everything it does on a machine is an `exec` of an argv
with bytes on stdin. Nothing secret or user-supplied is ever placed in the argv.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Protocol

# Reasons that blame the provider's limits or the network, not the machine: provisioning
# retries them without counting them toward provisioning.maxFailures (a replacement worker
# would meet the same limit).
TRANSIENT = frozenset({"RateLimited", "CapacityExceeded", "HostUnreachable", "SpritesUnreachable"})


class ProviderError(Exception):
    """A provider could not do what was asked; `reason` is a CamelCase condition reason.

    `retry_after` is the seconds the provider's API asked us to wait, when it said.
    """

    def __init__(
        self, message: str, *, reason: str = "ProviderError", retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        return self.reason in TRANSIENT


class MachineNotFound(ProviderError):
    """The machine does not exist (any more): the worker is lost."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="MachineNotFound")


class ExecTimeout(ProviderError):
    """A command on the machine ran longer than its timeout and was killed."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="ExecTimeout")


@dataclasses.dataclass(frozen=True)
class Machine:
    """A worker machine as its provider sees it."""

    name: str  # the Worker's name, e.g. kite-1
    id: str  # provider-specific id or address, shown in Worker.status.machine
    attach: Sequence[str] = ()  # argv a human runs to watch it (tmux attach, sprite console)


@dataclasses.dataclass(frozen=True)
class ExecResult:
    """The outcome of one command on a machine."""

    exit_code: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class Provider(Protocol):
    """Creates, lists, destroys machines and runs commands on them."""

    async def create(self, name: str) -> Machine:
        """Create the machine, or return it if it already exists (idempotent)."""
        ...

    async def destroy(self, name: str) -> None:
        """Destroy the machine; a machine that is already gone is not an error."""
        ...

    async def list(self) -> Sequence[Machine]:
        """All machines this provider holds for its pool, to re-observe after a restart."""
        ...

    async def exec(
        self,
        name: str,
        argv: Sequence[str],
        *,
        stdin: bytes = b"",
        timeout: float = 60.0,  # noqa: ASYNC109 (enforced on the machine by each provider)
        env: Mapping[str, str] | None = None,
    ) -> ExecResult:
        """Run argv on the machine with `stdin`; raise ExecTimeout past `timeout` seconds."""
        ...

    async def close(self) -> None:
        """Release connections; the machines stay."""
        ...
