"""Commands that talk to a cluster."""

from sprite_orchestrator.cli import attach, dev, dispatch, operate

__all__ = ["attach", "dev", "dispatch", "operate"]
