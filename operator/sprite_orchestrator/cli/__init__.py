"""The `orchestrator` command: the seed's habits, Kubernetes underneath."""

from __future__ import annotations

from sprite_orchestrator.cli.app import app


def main() -> None:
    """Console-script entry point."""
    app(prog_name="orchestrator")  # also as `python -m sprite_orchestrator.cli`, for completion


__all__ = ["app", "main"]
