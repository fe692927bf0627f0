"""What the dispatch benchmarks share: pools of warm workers, timed tasks, prompts arrived.

A benchmark brings an API with a pool `demo` of warm workers and the folders where those
workers' demo agents save each prompt they read; `measure` creates tasks one after another
and times each from creation to the saved prompt.
"""

from __future__ import annotations

import pathlib
import time
from collections.abc import Sequence
from typing import Any

from bench.harness import NS, until
from sprite_orchestrator import API_VERSION
from sprite_orchestrator.cli import demo
from sprite_orchestrator.kube import Kube

WHAT = "AgentTask created -> prompt read by the agent in tmux window 1, warm worker"
PROMPTS = pathlib.Path(".sprite-orchestrator/demo-agent/prompts")  # under a worker's HOME


def local_prompts(state_dir: pathlib.Path, worker: str, pool: str = "demo") -> pathlib.Path:
    """Where a Local worker's demo agent saves the prompts it reads."""
    return state_dir / "local" / NS / pool / worker / "home" / PROMPTS


def pool_body(repo: pathlib.Path, workers: int, *, poll: int = 1) -> dict[str, Any]:
    """The demo pool (demo agent), `workers` warm workers, polled every `poll` seconds."""
    pool = demo.pool_body(repo, claude=False)
    pool["spec"]["scaling"] = {"minIdle": min(workers, 100), "maxWorkers": workers}
    pool["spec"]["pollIntervalSeconds"] = poll
    return pool


async def measure(kube: Kube, prompts: Sequence[pathlib.Path], runs: int) -> list[float]:
    """Seconds from each task's creation until an agent has read its whole prompt."""
    samples = []
    for i in range(runs):
        await until(lambda: ready_workers(kube, len(prompts)))
        before = count(prompts)
        start = time.perf_counter()
        name = await create_task(kube, f"benchmark task {i}")
        await until(lambda b=before: _more(prompts, b), every=0.002)
        samples.append(time.perf_counter() - start)
        await until(lambda n=name: finished(kube, n))
    return samples


async def ready_workers(kube: Kube, want: int) -> bool:
    """Whether `want` workers of the pool are Ready (idle with an agent waiting)."""
    ready = 0
    for worker in await kube.list("workers", NS):
        conds = (worker.get("status") or {}).get("conditions", [])
        ready += any(c["type"] == "Ready" and c["status"] == "True" for c in conds)
    return ready >= want


async def create_task(kube: Kube, prompt: str, pool: str = "demo") -> str:
    body = {
        "apiVersion": API_VERSION,
        "kind": "AgentTask",
        "metadata": {"generateName": f"{pool}-", "namespace": NS},
        "spec": {"pool": pool, "prompt": prompt},
    }
    return str((await kube.create("agenttasks", NS, body))["metadata"]["name"])


def count(prompts: Sequence[pathlib.Path]) -> int:
    return sum(len(list(p.glob("*.txt"))) for p in prompts if p.exists())


async def _more(prompts: Sequence[pathlib.Path], before: int) -> bool:
    return count(prompts) > before


def condition(task: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for cond in (task.get("status") or {}).get("conditions", []):
        if cond["type"] == kind:
            return dict(cond)
    return None


async def finished(kube: Kube, name: str) -> bool:
    found = condition(await kube.get("agenttasks", NS, name), "Succeeded")
    return found is not None and found["status"] != "Unknown"
