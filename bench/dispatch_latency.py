"""Dispatch latency on a warm worker: AgentTask created → prompt in the agent's input.

Runs the embedded control plane (emulated API + the real operator, Local provider, the demo
agent in real tmux) and, N times, creates a task on a pool with one warm worker and times
until the agent has read the whole prompt (its saved copy appears), then waits for the task
to finish so the worker is warm again. Prints the figures and writes
bench/results/dispatch_latency.json.
"""

from __future__ import annotations

import asyncio
import pathlib
import sys
import tempfile

from bench import dispatching
from bench.dispatching import NS
from sprite_orchestrator import embedded
from sprite_orchestrator.cli import demo
from sprite_orchestrator.providers.local import LocalProvider


async def measure(runs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="so-bench-") as tmp:
        root = pathlib.Path(tmp)
        repo = demo.make_repo(root / "src")
        state = root / "workers"
        async with embedded.control_plane(state) as cp:
            pool = demo.pool_body(repo, claude=False)
            pool["spec"]["scaling"] = {"minIdle": 1, "maxWorkers": 1}
            await cp.kube.create("workerpools", NS, pool)
            prompts = state / "local" / NS / "demo" / "demo-1" / "home"
            prompts = prompts / ".sprite-orchestrator" / "demo-agent" / "prompts"
            try:
                samples = await dispatching.measure(cp, prompts, runs)
            finally:
                provider = LocalProvider(state / "local" / NS / "demo")
                for machine in await provider.list():
                    await provider.destroy(machine.name)
    return dispatching.figures(samples, runs)


def main(argv: list[str]) -> int:
    runs = int(argv[0]) if argv else 20
    figures = asyncio.run(measure(runs))
    dispatching.report("dispatch_latency", figures, label="dispatch latency on a warm worker")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
