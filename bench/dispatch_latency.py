"""Dispatch latency on a warm worker: AgentTask created → prompt in the agent's input.

The API emulator and the operator run in separate processes (bench.harness.Stack), the pool
has one warm Local worker running the demo agent in real tmux. N times: create a task, time
until the agent has read the whole prompt (its saved copy appears), wait for the task to end
so the worker is warm again. Writes bench/results/dispatch_latency.json.
"""

from __future__ import annotations

import asyncio
import pathlib
import sys
import tempfile
from typing import Any

from bench import dispatching, harness
from bench.harness import NS
from sprite_orchestrator.cli import demo


async def measure(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="so-bench-") as tmp:
        root = pathlib.Path(tmp)
        repo = demo.make_repo(root / "src")
        async with harness.stack(root / "stack") as s:
            await s.kube.create("workerpools", NS, dispatching.pool_body(repo, 1))
            prompts = [dispatching.local_prompts(s.state_dir, "demo-1")]
            await harness.until(lambda: dispatching.ready_workers(s.kube, 1), timeout=180)
            samples = await dispatching.measure(s.kube, prompts, runs)
            operator = s.operator_usage()
    return {
        "what": dispatching.WHAT,
        "provider": "Local (demo agent in real tmux)",
        "setup": "API emulator and operator in separate processes",
        "latency_ms": harness.stats(samples),
        "operator_rss_mb": round(operator["rss_mb"], 1),
    }


def main(argv: list[str]) -> int:
    runs = int(argv[0]) if argv else 40
    found = harness.report("dispatch_latency", asyncio.run(measure(runs)))
    print(harness.line("dispatch latency, warm Local worker", found["latency_ms"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
