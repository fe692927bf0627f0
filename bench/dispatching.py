"""What the dispatch latency benchmarks share: one warm worker, timed tasks, the figures.

A benchmark brings a control plane with a pool `demo` of one warm worker `demo-1` and the
folder where that worker's demo agent saves each prompt it reads; `measure` creates tasks one
after another and times each from creation to the saved prompt.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import statistics
import time

from sprite_orchestrator import API_VERSION, embedded

RESULTS = pathlib.Path(__file__).parent / "results"
NS = "default"
WHAT = "AgentTask created -> prompt read by the agent in tmux window 1, warm worker"


async def until(probe, *, timeout: float = 60.0, every: float = 0.002):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(every)
    raise TimeoutError("benchmark step timed out")


async def measure(cp: embedded.ControlPlane, prompts: pathlib.Path, runs: int) -> list[float]:
    """Seconds from each task's creation until the agent has read its whole prompt."""
    samples = []
    for i in range(runs):
        await until(lambda: _ready(cp))
        before = len(list(prompts.glob("*.txt"))) if prompts.exists() else 0
        start = time.perf_counter()
        name = await _task(cp, f"benchmark task {i}")
        await until(lambda b=before: _arrived(prompts, b))
        samples.append(time.perf_counter() - start)
        await until(lambda n=name: _finished(cp, n))
    return samples


def figures(samples: list[float], runs: int, **extra: object) -> dict[str, object]:
    ms = sorted(s * 1000 for s in samples)
    return {
        "runs": runs,
        "median_ms": round(statistics.median(ms), 1),
        "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 1),
        "min_ms": round(ms[0], 1),
        "max_ms": round(ms[-1], 1),
        "what": WHAT,
        **extra,
    }


def report(name: str, found: dict[str, object], *, label: str) -> None:
    """Write bench/results/<name>.json and print the figures in one line."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(found, indent=2) + "\n")
    print(
        f"{label} over {found['runs']} runs: median {found['median_ms']} ms,"
        f" p90 {found['p90_ms']} ms, min {found['min_ms']} ms, max {found['max_ms']} ms"
    )


async def _ready(cp: embedded.ControlPlane) -> bool:
    worker = await cp.kube.get("workers", NS, "demo-1") if await _exists(cp) else None
    conds = ((worker or {}).get("status") or {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)


async def _exists(cp: embedded.ControlPlane) -> bool:
    return any(w["metadata"]["name"] == "demo-1" for w in await cp.kube.list("workers", NS))


async def _task(cp: embedded.ControlPlane, prompt: str) -> str:
    body = {
        "apiVersion": API_VERSION,
        "kind": "AgentTask",
        "metadata": {"generateName": "demo-", "namespace": NS},
        "spec": {"pool": "demo", "prompt": prompt},
    }
    return str((await cp.kube.create("agenttasks", NS, body))["metadata"]["name"])


async def _arrived(prompts: pathlib.Path, before: int) -> bool:
    return prompts.exists() and len(list(prompts.glob("*.txt"))) > before


async def _finished(cp: embedded.ControlPlane, name: str) -> bool:
    task = await cp.kube.get("agenttasks", NS, name)
    conds = (task.get("status") or {}).get("conditions", [])
    return any(c["type"] == "Succeeded" and c["status"] != "Unknown" for c in conds)
