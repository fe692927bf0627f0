"""Commands that talk to a cluster."""

from sprite_orchestrator.cli import dev, dispatch, operate

__all__ = ["dev", "dispatch", "operate"]
