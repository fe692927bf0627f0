"""Run every benchmark: `python -m bench`, or some: `python -m bench NAME [NAME...]`.

Each prints its figures and writes bench/results/<name>.json; then bench/plot.py draws
bench/results/seed.png when matplotlib is installed, and bench/summary.py rewrites the table
in bench/README.md.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench import (
    dispatch_latency,
    dispatch_latency_sprites,
    dispatch_latency_ssh,
    freshness,
    plot,
    scale,
    seed,
    summary,
    throughput,
)

BENCHMARKS: dict[str, Callable[[list[str]], int]] = {
    "dispatch_latency": dispatch_latency.main,
    "dispatch_latency_ssh": dispatch_latency_ssh.main,
    "dispatch_latency_sprites": dispatch_latency_sprites.main,
    "throughput": throughput.main,
    "freshness": freshness.main,
    "seed": seed.main,
    "scale": scale.main,
    "plot": plot.main,
    "summary": summary.main,
}


def main(argv: list[str]) -> int:
    """`NAME [ARGS...]` runs one benchmark with its own arguments; none runs them all."""
    if argv and argv[0] not in BENCHMARKS:
        print(f"unknown benchmark {argv[0]!r}; one of: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    if argv:
        return BENCHMARKS[argv[0]](argv[1:])
    return max(run([]) for run in BENCHMARKS.values())


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
