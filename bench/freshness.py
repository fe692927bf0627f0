"""Status freshness: window 1 renamed → Worker status updated, at the pool's poll interval.

The API and the operator run in separate processes; the pool has a few warm Local workers
(demo agent in real tmux). Three figures:

- freshness: window 1 of demo-1 is renamed by hand (tmux rename-window, as the seed's
  agents report), at a random phase of the poll, alternately agent:running and
  agent:waiting; timed until the Worker's status.agentState says so. Target p99 ≤ interval
  + 1 s.
- cost of polling: over a quiet window, the operator's polls (execs) per second, from its
  own metrics, and its CPU per worker (its own, and its exec'd children's: bash + tmux).
- hook-to-status (issue 4): a task whose demo agent works 1 s; from the status hook's write of
  `completed` (~/.sprite-orchestrator/status.json's mtime) to the AgentTask's Succeeded
  condition, at poll interval 1 s. Median of 20. With the demo agent's hook, and with the
  real Claude Code CLI (its own hooks, our status hook) against the scripted API of
  tests/fakes/anthropic.py, one warm worker, when `claude` is on PATH.

Writes bench/results/freshness.json.
"""

from __future__ import annotations

import asyncio
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

from bench import dispatching, harness
from bench.harness import NS
from sprite_orchestrator.cli import demo
from sprite_orchestrator.kube import Kube

WORKERS = 5
# Shaped like a real key, and only ever sent to the fake API (as in tests/claude).
FAKE_KEY = b"sk-ant-api03-FAKE-bench-0123456789-abcdefghijklmnopqrstuvwxyz-AA"
SESSION_WINDOW = "demo-dev:1"


async def measure(intervals: list[int], flips: int, hooks: int, quiet: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="so-bench-") as tmp:
        root = pathlib.Path(tmp)
        repo = demo.make_repo(root / "src")
        async with harness.stack(root / "stack") as s:
            await s.kube.create("workerpools", NS, dispatching.pool_body(repo, WORKERS))
            await harness.until(lambda: dispatching.ready_workers(s.kube, WORKERS), timeout=300)
            tmux = _tmux(s.state_dir, "demo-1")
            per_interval = {}
            for interval in intervals:
                await _set_interval(s.kube, interval)
                samples = await _flips(s.kube, tmux, interval, flips)
                per_interval[f"{interval}s"] = {
                    "freshness_ms": harness.stats(samples),
                    "target_p99_ms": (interval + 1) * 1000,
                    "cost": await _cost(s, interval, quiet),
                }
            await _set_interval(s.kube, 1)
            home = s.state_dir / "local" / NS / "demo"
            hook = await _hook_to_status(s.kube, home, hooks)
    return {
        "what": "window 1 renamed -> Worker status.agentState updated, at the poll interval",
        "provider": f"Local (demo agent in real tmux), {WORKERS} warm workers",
        "setup": "API emulator and operator in separate processes",
        "intervals": per_interval,
        "hook_to_status_ms": {
            "what": "status hook writes `completed` -> AgentTask Succeeded, poll interval 1 s",
            "agent": f"demo agent (its Stop hook), {WORKERS} warm workers",
            **harness.stats(hook),
        },
        "hook_to_status_claude_ms": await _claude(hooks),
    }


async def _claude(runs: int) -> dict[str, Any]:
    """Hook-to-status with the real Claude Code CLI against the scripted API, one worker."""
    if shutil.which("claude") is None:
        return {"skipped": "the Claude Code CLI is not on PATH"}
    from tests.fakes import anthropic

    with tempfile.TemporaryDirectory(prefix="so-bench-") as tmp:
        root = pathlib.Path(tmp)
        repo = demo.make_repo(root / "src")
        async with anthropic.FakeAnthropic() as api, harness.stack(root / "stack") as s:
            await s.kube.create_secret(NS, "claude-auth", {"ANTHROPIC_API_KEY": FAKE_KEY})
            pool = demo.pool_body(repo, claude=True)
            pool["spec"]["scaling"] = {"minIdle": 1, "maxWorkers": 1}
            pool["spec"]["agent"]["permissionMode"] = "acceptEdits"
            pool["spec"]["agent"]["env"] = [{"name": "ANTHROPIC_BASE_URL", "value": api.url}]
            await s.kube.create("workerpools", NS, pool)
            await harness.until(lambda: dispatching.ready_workers(s.kube, 1), timeout=300)
            home = s.state_dir / "local" / NS / "demo"
            samples = await _hook_to_status(s.kube, home, runs, workers=1, prompt="say done")
    return {
        "what": "status hook writes `completed` -> AgentTask Succeeded, poll interval 1 s",
        "agent": "Claude Code (real CLI) against tests/fakes/anthropic.py, 1 warm worker",
        **harness.stats(samples),
    }


def _tmux(state_dir: pathlib.Path, worker: str) -> list[str]:
    """tmux against a Local worker's own server (its socket, as `orchestrator attach` does)."""
    machine = state_dir / "local" / NS / "demo" / worker
    from sprite_orchestrator.providers.local import LocalProvider

    provider = LocalProvider(machine.parent)
    return list(provider._machine(worker).attach)


async def _set_interval(kube: Kube, seconds: int) -> None:
    await kube.patch("workerpools", NS, "demo", {"spec": {"pollIntervalSeconds": seconds}})
    await asyncio.sleep(seconds + 1)  # every worker has slept its old interval out


async def _agent_state(kube: Kube, worker: str) -> str | None:
    body = await kube.get("workers", NS, worker)
    return (body.get("status") or {}).get("agentState")


async def _flips(kube: Kube, tmux: list[str], interval: int, flips: int) -> list[float]:
    samples = []
    names = ["agent:running", "agent:waiting"] * flips
    for name in names[:flips] + (["agent:waiting"] if flips % 2 else []):
        await asyncio.sleep(random.uniform(0, interval))
        subprocess.run([*tmux, "rename-window", "-t", SESSION_WINDOW, name], check=True)
        start = time.perf_counter()

        async def seen(want: str = name) -> bool:
            return await _agent_state(kube, "demo-1") == want

        await harness.until(seen, timeout=interval * 4 + 30, every=0.01)
        samples.append(time.perf_counter() - start)
    return samples[:flips]


async def _cost(s: harness.Stack, interval: int, quiet: float) -> dict[str, Any]:
    """Polls per second and operator CPU per worker over `quiet` seconds of idle workers."""
    polls = "orchestrator_poll_seconds_count"
    before, count = s.operator_usage(), s.metric(polls)
    await asyncio.sleep(quiet)
    after, execs = s.operator_usage(), s.metric(polls) - count
    cpu = after["cpu_s"] - before["cpu_s"]
    children = after["children_cpu_s"] - before["children_cpu_s"]
    return {
        "workers": WORKERS,
        "seconds": quiet,
        "execs_per_s": round(execs / quiet, 2),
        "operator_cpu_pct_per_worker": round(100 * cpu / quiet / WORKERS, 3),
        "operator_cpu_ms_per_poll": round(1000 * cpu / max(execs, 1), 2),
        "exec_children_cpu_ms_per_poll": round(1000 * children / max(execs, 1), 2),
        "operator_rss_mb": round(after["rss_mb"], 1),
    }


async def _hook_to_status(
    kube: Kube,
    pool_dir: pathlib.Path,
    runs: int,
    *,
    workers: int = WORKERS,
    prompt: str = "demo:sleep=1",
) -> list[float]:
    samples = []
    for i in range(runs):
        await harness.until(lambda: dispatching.ready_workers(kube, workers), timeout=120)
        name = await dispatching.create_task(kube, f"hook run {i} {prompt}")
        worker = await harness.until(lambda n=name: _bound(kube, n), timeout=60)
        status = pool_dir / worker / "home" / ".sprite-orchestrator" / "status.json"
        written = await harness.until(lambda f=status: _completed_at(f), timeout=60)
        await harness.until(lambda n=name: dispatching.finished(kube, n), timeout=60, every=0.01)
        samples.append(time.time() - written)
    return samples


async def _bound(kube: Kube, task: str) -> str | None:
    body = await kube.get("agenttasks", NS, task)
    return (body.get("status") or {}).get("workerName")


async def _completed_at(status: pathlib.Path) -> float | None:
    """The mtime of the status file once the hook wrote `completed` into it."""
    try:
        text, mtime = status.read_text(), status.stat().st_mtime
    except OSError:
        return None
    return mtime if '"state":"completed"' in text.replace(" ", "") else None


def main(argv: list[str]) -> int:
    flips, hooks = (int(argv[0]), int(argv[1])) if len(argv) >= 2 else (12, 20)
    intervals = [int(x) for x in argv[2].split(",")] if len(argv) >= 3 else [1, 5]
    quiet = float(argv[3]) if len(argv) >= 4 else 10.0
    found = harness.report("freshness", asyncio.run(measure(intervals, flips, hooks, quiet)))
    for key, got in found["intervals"].items():
        cost = got["cost"]
        print(
            harness.line(f"status freshness at poll interval {key}", got["freshness_ms"])
            + f"; {cost['execs_per_s']} execs/s for {cost['workers']} workers,"
            f" operator CPU {cost['operator_cpu_pct_per_worker']}% per worker"
        )
    print(
        harness.line("hook-to-status at poll interval 1 s, demo agent", found["hook_to_status_ms"])
    )
    claude = found["hook_to_status_claude_ms"]
    if "skipped" in claude:
        print(f"hook-to-status with Claude Code: skipped ({claude['skipped']})")
    else:
        print(harness.line("hook-to-status at poll interval 1 s, Claude Code", claude))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
