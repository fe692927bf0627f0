"""Dispatch latency on a warm worker: AgentTask created → prompt in the agent's input.

Runs the embedded control plane (emulated API + the real operator, Local provider, the demo
agent in real tmux) and, N times, creates a task on a pool with one warm worker and times
until the agent has read the whole prompt (its saved copy appears), then waits for the task
to finish so the worker is warm again. Prints the figures and writes
bench/results/dispatch_latency.json.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import statistics
import sys
import tempfile
import time

from sprite_orchestrator import API_VERSION, embedded
from sprite_orchestrator.cli import demo
from sprite_orchestrator.providers.local import LocalProvider

RESULTS = pathlib.Path(__file__).parent / "results"
NS = "default"


async def _until(probe, *, timeout: float = 60.0, every: float = 0.002):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(every)
    raise TimeoutError("benchmark step timed out")


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
            samples = []
            try:
                for i in range(runs):
                    await _until(lambda: _ready(cp))
                    before = len(list(prompts.glob("*.txt"))) if prompts.exists() else 0
                    start = time.perf_counter()
                    name = await _task(cp, f"benchmark task {i}")
                    await _until(lambda b=before: _arrived(prompts, b))
                    samples.append(time.perf_counter() - start)
                    await _until(lambda n=name: _finished(cp, n))
            finally:
                provider = LocalProvider(state / "local" / NS / "demo")
                for machine in await provider.list():
                    await provider.destroy(machine.name)
    ms = sorted(s * 1000 for s in samples)
    return {
        "runs": runs,
        "median_ms": round(statistics.median(ms), 1),
        "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 1),
        "min_ms": round(ms[0], 1),
        "max_ms": round(ms[-1], 1),
        "what": "AgentTask created -> prompt read by the agent in tmux window 1, warm worker",
    }


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


def main(argv: list[str]) -> int:
    runs = int(argv[0]) if argv else 20
    figures = asyncio.run(measure(runs))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dispatch_latency.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(
        f"dispatch latency on a warm worker over {runs} runs: median {figures['median_ms']} ms,"
        f" p90 {figures['p90_ms']} ms, min {figures['min_ms']} ms, max {figures['max_ms']} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
