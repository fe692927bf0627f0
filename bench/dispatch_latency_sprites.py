"""Dispatch latency on a warm Sprites worker: AgentTask created → prompt in the agent's input.

The same measurement as bench/dispatch_latency.py, on a pool with provider Sprites whose API
is the tests' fake (tests/fakes/sprites.py) on 127.0.0.1: every step of the dispatch (poll,
delivery, the agent's restart) goes through sprites-py, one exec WebSocket per command, to
real local processes. It measures our side of the path (SDK, WebSocket framing, our scripts),
not Fly.io's network or a sprite's wake-up. Prints the figures and writes
bench/results/dispatch_latency_sprites.json.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from tests.fakes.sprites import FakeSprites

from bench import dispatching
from bench.dispatching import NS
from sprite_orchestrator import embedded
from sprite_orchestrator.cli import demo

TOKEN = "spr-bench-token"


async def measure(runs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="so-bench-") as tmp:
        root = Path(tmp)
        repo = demo.make_repo(root / "src")
        async with (
            FakeSprites(root / "sprites", TOKEN) as api,
            embedded.control_plane(root / "workers") as cp,
        ):
            await cp.kube.create_secret(NS, "sprites-token", {"token": TOKEN.encode()})
            pool = demo.pool_body(repo, claude=False)
            pool["spec"]["scaling"] = {"minIdle": 1, "maxWorkers": 1}
            pool["spec"]["provider"] = {
                "type": "Sprites",
                "sprites": {"tokenSecretRef": {"name": "sprites-token"}, "baseUrl": api.url},
            }
            await cp.kube.create("workerpools", NS, pool)
            await dispatching.until(lambda: _sprite(api), timeout=60)
            home = api.sprites["demo-1"].home
            prompts = home / ".sprite-orchestrator" / "demo-agent" / "prompts"
            samples = await dispatching.measure(cp, prompts, runs)
    return dispatching.figures(samples, runs, provider="Sprites (the fake API on 127.0.0.1)")


async def _sprite(api: FakeSprites) -> bool:
    return "demo-1" in api.sprites


def main(argv: list[str]) -> int:
    runs = int(argv[0]) if argv else 20
    figures = asyncio.run(measure(runs))
    label = "dispatch latency on a warm Sprites worker (fake API)"
    dispatching.report("dispatch_latency_sprites", figures, label=label)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
