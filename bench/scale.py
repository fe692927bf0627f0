"""Scale: 1,000 Workers and 10,000 AgentTasks in one operator, and the curve from 100 up.

The API and the operator run in separate processes. The operator's machines come from a
provider double (bench.double: machines in memory that answer our scripts with the bytes a
cheap, provisioned tmux worker prints, after 5 ms per exec), wired in by bench.operate; the
operator code above the Provider Protocol is the product's, unchanged. At each size N the
pool may grow to N workers and 10 × N tasks exist: N run (the double's agents work for ever)
and the rest wait in the queue. Once all N are bound, the operator's RSS and CPU are read
over a few poll cycles (interval 5 s), and the emulator's beside them: where the emulator is
the bottleneck, the figures say so. Writes bench/results/scale.json.
"""

from __future__ import annotations

import asyncio
import pathlib
import sys
import tempfile
import time
from typing import Any

from bench import dispatching, harness
from bench.harness import NS
from sprite_orchestrator.kube import Kube

POLL = 5
CYCLES = 3
TASKS_PER_WORKER = 10
CREATORS = 16  # concurrent API calls creating tasks


async def measure(sizes: list[int], cycles: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="so-bench-") as tmp:
        root = pathlib.Path(tmp)
        async with harness.stack(root / "stack", double=True) as s:
            pool = dispatching.pool_body(root / "repo-unused", 1, poll=POLL)
            pool["spec"]["scaling"] = {"minIdle": 0, "maxWorkers": 1}
            await s.kube.create("workerpools", NS, pool)
            points, made = [], 0
            for size in sizes:
                started = time.perf_counter()
                await s.kube.patch(
                    "workerpools", NS, "demo", {"spec": {"scaling": {"maxWorkers": size}}}
                )
                await _create_tasks(s.kube, made, size * TASKS_PER_WORKER)
                made = size * TASKS_PER_WORKER
                created = time.perf_counter() - started
                await harness.until(lambda n=size: _all_bound(s.kube, n), timeout=1200, every=1.0)
                converged = time.perf_counter() - started
                points.append(
                    {
                        "workers": size,
                        "tasks": made,
                        "create_tasks_s": round(created, 1),
                        "all_bound_s": round(converged, 1),
                        **await _steady(s, size, cycles),
                    }
                )
                print(f"  scale {size} workers / {made} tasks: {points[-1]}", flush=True)
    return {
        "what": "one operator, N Workers (all bound) and 10 x N AgentTasks (the rest queued)",
        "provider": (
            "double (bench/double.py): in-memory machines answering our scripts like a cheap "
            "provisioned tmux worker, 5 ms per exec"
        ),
        "setup": "API emulator and operator in separate processes",
        "poll_interval_s": POLL,
        "points": points,
        "target_rss_mb": 300,
    }


async def _create_tasks(kube: Kube, start: int, stop: int) -> None:
    numbers = iter(range(start, stop))

    async def creator() -> None:
        for i in numbers:
            await dispatching.create_task(kube, f"scale task {i}")

    await asyncio.gather(*(creator() for _ in range(CREATORS)))


async def _all_bound(kube: Kube, size: int) -> bool:
    """N workers bound and every other task waiting (the steady state: nothing to catch up)."""
    workers = await kube.list("workers", NS)
    bound = sum(1 for w in workers if (w.get("status") or {}).get("taskRef"))
    if len(workers) < size or bound < size:
        return False
    tasks = await kube.list("agenttasks", NS)
    return all(_settled(t) for t in tasks)


def _settled(task: dict[str, Any]) -> bool:
    """Admitted and, if not bound, marked as waiting (the pool has seen it)."""
    for cond in (task.get("status") or {}).get("conditions") or ():
        if cond["type"] == "Scheduled":
            return cond["status"] == "True" or cond["reason"] != "Pending"
    return False


async def _steady(s: harness.Stack, size: int, cycles: int) -> dict[str, Any]:
    """Operator and emulator cost over `cycles` poll intervals with every worker bound."""
    polls = "orchestrator_poll_seconds_count"
    op, api, count = s.operator_usage(), s.api_usage(), s.metric(polls)
    asked = harness.requests(s.metrics())
    start = time.perf_counter()
    await asyncio.sleep(POLL * cycles)
    seconds = time.perf_counter() - start
    op2, api2, count2 = s.operator_usage(), s.api_usage(), s.metric(polls)
    asked2 = harness.requests(s.metrics())
    seconds = max(seconds, 1e-3)
    per_cycle = seconds / POLL
    cpu = op2["cpu_s"] - op["cpu_s"]
    return {
        "operator_rss_mb": round(op2["rss_mb"], 1),
        "operator_cpu_s_per_poll_cycle": round(cpu / per_cycle, 3),
        "operator_cpu_pct": round(100 * cpu / seconds, 1),
        "polls_per_s": round((count2 - count) / seconds, 1),
        "polls_expected_per_s": round(size / POLL, 1),
        "api_requests_per_s": {
            k: round((v - asked.get(k, 0)) / seconds, 1) for k, v in sorted(asked2.items())
        },
        "api_rss_mb": round(api2["rss_mb"], 1),
        "api_cpu_pct": round(100 * (api2["cpu_s"] - api["cpu_s"]) / seconds, 1),
    }


def main(argv: list[str]) -> int:
    sizes = [int(x) for x in argv[0].split(",")] if argv else [100, 250, 500, 1000]
    cycles = int(argv[1]) if len(argv) > 1 else CYCLES
    found = harness.report("scale", asyncio.run(measure(sizes, cycles)))
    for p in found["points"]:
        print(
            f"scale {p['workers']} workers / {p['tasks']} tasks: operator RSS"
            f" {p['operator_rss_mb']} MB, CPU {p['operator_cpu_s_per_poll_cycle']} s per poll"
            f" cycle ({p['operator_cpu_pct']}%), polls {p['polls_per_s']}/s of"
            f" {p['polls_expected_per_s']}; emulator {p['api_rss_mb']} MB, {p['api_cpu_pct']}%"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
