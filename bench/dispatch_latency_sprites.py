"""Dispatch latency on a warm Sprites worker: AgentTask created → prompt in the agent's input.

The same measurement as bench/dispatch_latency.py, on a pool with provider Sprites whose API
is the tests' fake (tests/fakes/sprites.py) on 127.0.0.1, served from this process while the
API emulator and the operator run in their own (bench.harness.Stack): every step of the
dispatch (poll, delivery, the agent's restart) goes through sprites-py, one exec WebSocket
per command, to real local processes. It measures our side of the path (SDK, WebSocket
framing, our scripts), not Fly.io's network or a sprite's wake-up. Writes
bench/results/dispatch_latency_sprites.json.
"""

from __future__ import annotations

import asyncio
import pathlib
import sys
import tempfile
from typing import Any

from tests.fakes.sprites import FakeSprites

from bench import dispatching, harness
from bench.harness import NS
from sprite_orchestrator.cli import demo

TOKEN = "spr-bench-token"


async def measure(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="so-bench-") as tmp:
        root = pathlib.Path(tmp)
        repo = demo.make_repo(root / "src")
        async with (
            FakeSprites(root / "sprites", TOKEN) as api,
            harness.stack(root / "stack") as s,
        ):
            await s.kube.create_secret(NS, "sprites-token", {"token": TOKEN.encode()})
            pool = dispatching.pool_body(repo, 1)
            pool["spec"]["provider"] = {
                "type": "Sprites",
                "sprites": {"tokenSecretRef": {"name": "sprites-token"}, "baseUrl": api.url},
            }
            await s.kube.create("workerpools", NS, pool)
            await harness.until(lambda: dispatching.ready_workers(s.kube, 1), timeout=180)
            prompts = [api.sprites["demo-1"].home / dispatching.PROMPTS]
            samples = await dispatching.measure(s.kube, prompts, runs)
    return {
        "what": dispatching.WHAT,
        "provider": "Sprites (the fake API on 127.0.0.1, demo agent in real tmux)",
        "setup": "API emulator and operator in separate processes, the fake API in this one",
        "latency_ms": harness.stats(samples),
    }


def main(argv: list[str]) -> int:
    runs = int(argv[0]) if argv else 40
    found = harness.report("dispatch_latency_sprites", asyncio.run(measure(runs)))
    print(harness.line("dispatch latency, warm Sprites worker (fake API)", found["latency_ms"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
