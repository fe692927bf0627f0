"""`python -m bench.operate [--double] ARGS`: `orchestrator operator ARGS` for the benchmarks.

With `--double`, every pool's machines come from bench.double.DoubleProvider (machines in
memory that answer like cheap tmux workers) instead of the provider its spec names: the
scale benchmark's 1,000 workers without 1,000 tmux servers. The hook is a patch of
`handlers.providing.build` in this process only; the production package knows nothing of it.
"""

from __future__ import annotations

import sys
from typing import Any

from sprite_orchestrator import cli
from sprite_orchestrator.handlers import providing


def _double(kube: Any, state_dir: Any, namespace: str, pool: str, spec: Any) -> Any:
    from bench.double import DoubleProvider

    return DoubleProvider(f"{namespace}/{pool}")


def main(argv: list[str]) -> None:
    if "--double" in argv:
        argv.remove("--double")
        providing.build = _double  # type: ignore[assignment]
    sys.argv = ["orchestrator", "operator", *argv]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
