"""Throughput: 200 tasks applied at once onto 50 warm workers, tasks per second to all delivered.

The API and the operator run in separate processes; the pool has 50 warm Local workers with
the demo agent in real tmux (each task works 0.2 s). Each run creates all tasks at once
(concurrent API calls) and times until every prompt has been read by an agent. Reports the
rate per run and each task's own dispatch latency (creation → prompt read, from the agents'
saved prompts' modification times), and the operator's CPU over the runs. Writes
bench/results/throughput.json.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import sys
import tempfile
import time
from typing import Any

from bench import dispatching, harness
from bench.harness import NS
from sprite_orchestrator.cli import demo

PROMPT = "benchmark task {i} demo:sleep=0.2"


async def measure(tasks: int, workers: int, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="so-bench-") as tmp:
        root = pathlib.Path(tmp)
        repo = demo.make_repo(root / "src")
        async with harness.stack(root / "stack") as s:
            await s.kube.create("workerpools", NS, dispatching.pool_body(repo, workers))
            prompts = [
                dispatching.local_prompts(s.state_dir, f"demo-{i}") for i in range(1, workers + 1)
            ]
            ready = time.perf_counter()
            await harness.until(lambda: dispatching.ready_workers(s.kube, workers), timeout=600)
            warmup = time.perf_counter() - ready
            rates, latencies = [], []
            before, api, machine, start = (
                s.operator_usage(),
                s.api_usage(),
                harness.machine_cpu(),
                time.perf_counter(),
            )
            for _ in range(runs):
                seconds, each = await _run(s, prompts, tasks)
                rates.append(tasks / seconds)
                latencies += each
                await harness.until(lambda: dispatching.ready_workers(s.kube, workers), timeout=300)
            after, api2, machine2 = s.operator_usage(), s.api_usage(), harness.machine_cpu()
            seconds = time.perf_counter() - start
    return {
        "what": f"{tasks} AgentTasks created at once onto {workers} warm workers -> all delivered",
        "provider": "Local (demo agent in real tmux, 0.2 s of work per task)",
        "setup": "API emulator and operator in separate processes",
        "tasks": tasks,
        "workers": workers,
        "runs": runs,
        "tasks_per_s": harness.stats(rates, scale=1.0),
        "task_latency_ms": harness.stats(latencies),
        "warmup_s": round(warmup, 1),
        "operator_cpu_s": round(after["cpu_s"] - before["cpu_s"], 2),
        "operator_children_cpu_s": round(after["children_cpu_s"] - before["children_cpu_s"], 2),
        "operator_rss_mb": round(after["rss_mb"], 1),
        "api_cpu_s": round(api2["cpu_s"] - api["cpu_s"], 2),
        "wall_s": round(seconds, 1),
        "machine_busy_pct": round(100 * (machine2 - machine) / seconds / (os.cpu_count() or 1)),
    }


async def _run(
    s: harness.Stack, prompts: list[pathlib.Path], tasks: int
) -> tuple[float, list[float]]:
    seen = {p for d in prompts if d.exists() for p in d.glob("*.txt")}
    start_wall, start = time.time(), time.perf_counter()
    await asyncio.gather(
        *(dispatching.create_task(s.kube, PROMPT.format(i=i)) for i in range(tasks))
    )
    await harness.until(lambda: _count(prompts, seen, tasks), timeout=600, every=0.05)
    elapsed = time.perf_counter() - start
    arrived = [p.stat().st_mtime for d in prompts for p in d.glob("*.txt") if p not in seen]
    return elapsed, [t - start_wall for t in arrived]


async def _count(prompts: list[pathlib.Path], seen: set[pathlib.Path], want: int) -> bool:
    return dispatching.count(prompts) - len(seen) >= want


def main(argv: list[str]) -> int:
    tasks, workers, runs = (int(a) for a in (argv + ["200", "50", "3"][len(argv) :])[:3])
    found = harness.report("throughput", asyncio.run(measure(tasks, workers, runs)))
    rate = found["tasks_per_s"]
    print(
        f"throughput, {tasks} tasks onto {workers} warm workers: median {rate['median']} tasks/s"
        f" (runs {rate['n']}, min {rate['min']}, max {rate['max']});"
        f" {harness.line('per task', found['task_latency_ms'])}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
