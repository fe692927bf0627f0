"""Commands that talk to a cluster."""

from sprite_orchestrator.cli import (
    attach,
    cancel,
    dev,
    dispatch,
    fleet,
    logs,
    operate,
    requests,
    send,
    status,
)

__all__ = [
    "attach",
    "cancel",
    "dev",
    "dispatch",
    "fleet",
    "logs",
    "operate",
    "requests",
    "send",
    "status",
]
