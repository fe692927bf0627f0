"""`python -m sprite_orchestrator.cli`, the same as `orchestrator`."""

from sprite_orchestrator.cli import main

main()
