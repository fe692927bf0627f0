"""Commands that talk to a cluster."""

from sprite_orchestrator.cli import attach, cancel, dev, dispatch, logs, operate

__all__ = ["attach", "cancel", "dev", "dispatch", "logs", "operate"]
