"""What the agent's window shows, read through the provider: `orchestrator logs` prints it."""

from __future__ import annotations

from sprite_orchestrator.providers.base import Provider
from sprite_orchestrator.worker import remote

SCROLLBACK_LINES = 2000
_NO_WINDOW = 3


async def capture(
    provider: Provider, name: str, *, session: str, lines: int = SCROLLBACK_LINES
) -> str | None:
    """Window 1 of `session` with `lines` of scrollback, or None if it has no window 1."""
    result = await remote.run(
        provider, name, "pane.sh", remote.session_name(session), str(int(lines)), timeout=20.0
    )
    if result.exit_code == _NO_WINDOW:
        return None
    if not result.ok:
        detail = remote.tail(result.stderr, 512)
        raise remote.WorkerError(f"reading the pane on {name} failed: {detail}", reason="Pane")
    return result.stdout.decode("utf-8", "replace")
