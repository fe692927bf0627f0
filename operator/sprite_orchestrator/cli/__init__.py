"""The `orchestrator` command: the seed's habits, Kubernetes underneath."""

from __future__ import annotations

from sprite_orchestrator.cli.app import app


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
