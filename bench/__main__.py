"""Run every benchmark: `python -m bench` (each prints its figures and writes results/)."""

from __future__ import annotations

import sys

from bench import dispatch_latency, dispatch_latency_sprites, dispatch_latency_ssh

BENCHMARKS = {
    "dispatch_latency": dispatch_latency.main,
    "dispatch_latency_ssh": dispatch_latency_ssh.main,
    "dispatch_latency_sprites": dispatch_latency_sprites.main,
}


def main(argv: list[str]) -> int:
    chosen = argv or list(BENCHMARKS)
    return max(BENCHMARKS[name]([]) for name in chosen)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
