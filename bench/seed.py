"""The seed side by side: its shell flow against `orchestrator dispatch`, same workers.

The seed (shared/seed/orchestrator-skill.txt) allocates by checking each `kite-N` in turn
for a running agent, with a fresh connection per probe (`is-sprite-busy.sh`), then sends the
prompt with `tmux send-keys` over one more (`send-to-worker.sh`). Re-created faithfully here:
for each worker in name order, one fresh `ssh` running `tmux list-windows` (busy: window 1 is
agent:running), then one `ssh … tmux send-keys -t demo-dev:1 PROMPT Enter`. The idle worker
is probed last, the worst case the seed's cost formula (N + 1) × one ssh describes.

Ours, on the same workers: the AgentTask created through the API, and the whole CLI,
`orchestrator dispatch --repo demo --command PROMPT` (its Python start included). Each is
timed until the agent has read the prompt (the demo agent saves what it reads).

With 1, 10 and 50 workers of which all but one are busy (agents working for a day), on SSH
workers (an OpenSSH sshd per worker on 127.0.0.1, tests/ssh/sshd.py; needs root) and on
Local workers (a tmux server per worker, where one probe is a bare tmux call). The API and
the operator run in separate processes. The pool polls its workers every 5 s, the product's
default (the seed's habit was 30 minutes): dispatch waits on no poll, but every poll of the
busy workers is an exec (over SSH, a shell under sshd) that the machine's two CPUs share
with the dispatch being timed. Writes bench/results/seed.json.
"""

from __future__ import annotations

import asyncio
import pathlib
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from tests.ssh import sshd

from bench import dispatch_latency_ssh, dispatching, harness
from bench.harness import NS
from sprite_orchestrator.cli import demo
from sprite_orchestrator.kube import Kube
from sprite_orchestrator.providers.local import LocalProvider

BUSY = "busy for a day demo:sleep=86400"
POLL = 5  # seconds: WorkerPool spec.pollIntervalSeconds' default
PROBE = "tmux list-windows -t demo-dev -F '#{window_index}:#{window_name}'"


class Seed:
    """How the seed's scripts reach `kite-i`: one fresh process (ssh, or bash) per command."""

    def argv(self, index: int, command: str) -> list[str]:
        raise NotImplementedError

    def prompts(self, index: int) -> pathlib.Path:
        raise NotImplementedError

    def run(self, index: int, command: str) -> str:
        out = subprocess.run(self.argv(index, command), capture_output=True, text=True, timeout=60)
        return out.stdout

    def busy(self, index: int) -> bool:
        """is-sprite-busy.sh: window 1 says the agent is running."""
        return "1:agent:running" in self.run(index, PROBE)

    def dispatch(self, order: Sequence[int], prompt: str) -> int:
        """allocate-sprite.sh, then send-to-worker.sh: the prompt on the command line."""
        for index in order:
            if not self.busy(index):
                send = f"tmux send-keys -t demo-dev:1 {shlex.quote(prompt)} Enter"
                self.run(index, send)
                return index
        raise RuntimeError("all workers busy: the seed would create kite-N+1")

    def waiting(self, index: int) -> None:
        """Untimed: window 1 back to agent:waiting after the agent's turn (no operator task)."""
        self.run(index, "tmux rename-window -t demo-dev:1 agent:waiting")


class SSHSeed(Seed):
    def __init__(self, machines: sshd.Inventory, root: pathlib.Path) -> None:
        self.machines = machines
        self.known_hosts = root / "known_hosts"
        self.known_hosts.write_bytes(machines.known_hosts())

    def argv(self, index: int, command: str) -> list[str]:
        host = self.machines.hosts[index]
        return [
            "ssh", "-q", "-i", str(self.machines.private_key_path),
            "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-o", "ControlMaster=no", "-o", "ControlPath=none",
            "-p", str(host.port), f"{self.machines.user}@{host.address}", command,
        ]  # fmt: skip

    def prompts(self, index: int) -> pathlib.Path:
        return self.machines.hosts[index].home / dispatching.PROMPTS


class LocalSeed(Seed):
    def __init__(self, state_dir: pathlib.Path, size: int) -> None:
        self.provider = LocalProvider(state_dir / "local" / NS / "demo")
        self.state_dir = state_dir
        self.names = [f"demo-{i}" for i in range(1, size + 1)]

    def argv(self, index: int, command: str) -> list[str]:
        socket = self.provider._machine(self.names[index]).attach[2]
        return ["bash", "-c", command.replace("tmux ", f"tmux -S {shlex.quote(socket)} ", 1)]

    def prompts(self, index: int) -> pathlib.Path:
        return dispatching.local_prompts(self.state_dir, self.names[index])


async def measure_side(
    s: harness.Stack, seed: Seed, sizes: Sequence[int], runs: int, *, grow: Any
) -> list[dict[str, Any]]:
    """At each size: fill all but one worker, then time seed and ours on the idle one."""
    points, busy = [], 0
    for size in sizes:
        await grow(size)
        for i in range(busy, size - 1):
            await dispatching.create_task(s.kube, f"{BUSY} {i}")
        busy = size - 1
        await harness.until(lambda n=size: _filled(s.kube, n), timeout=900, every=0.5)
        idle = await asyncio.to_thread(_idle_index, seed, size)
        order = [i for i in range(size) if i != idle] + [idle]
        prompts = [seed.prompts(idle)]
        api = await dispatching.measure(s.kube, prompts, runs)
        cli = [await _cli(s, prompts, f"cli task {r}") for r in range(runs)]
        await harness.until(lambda: dispatching.ready_workers(s.kube, 1))
        theirs = []
        for r in range(runs):
            before = dispatching.count(prompts)
            start = time.perf_counter()
            got = await asyncio.to_thread(seed.dispatch, order, f"seed task {r}")
            await harness.until(lambda b=before, p=prompts: _more(p, b), every=0.002)
            theirs.append(time.perf_counter() - start)
            assert got == idle
            await asyncio.sleep(1.5)  # the demo agent's turn (0.5 s) ends
            await asyncio.to_thread(seed.waiting, idle)
        point = {
            "workers": size,
            "busy": size - 1,
            "seed_ms": harness.stats(theirs),
            "ours_api_ms": harness.stats(api),
            "ours_cli_ms": harness.stats(cli),
        }
        point["ratio_seed_over_api"] = round(
            point["seed_ms"]["median"] / point["ours_api_ms"]["median"], 1
        )
        point["ratio_seed_over_cli"] = round(
            point["seed_ms"]["median"] / point["ours_cli_ms"]["median"], 1
        )
        print(f"  {type(seed).__name__} {size}: {point}", flush=True)
        points.append(point)
        await harness.until(lambda: dispatching.ready_workers(s.kube, 1))
    return points


async def _filled(kube: Kube, size: int) -> bool:
    workers = await kube.list("workers", NS)
    tasks = await kube.list("agenttasks", NS)
    delivered = sum(
        1
        for t in tasks
        if t["spec"]["prompt"].startswith(BUSY)
        and (dispatching.condition(t, "Delivered") or {}).get("status") == "True"
    )
    return (
        len(workers) >= size and delivered >= size - 1 and await dispatching.ready_workers(kube, 1)
    )


def _idle_index(seed: Seed, size: int) -> int:
    idle = [i for i in range(size) if "1:agent:waiting" in seed.run(i, PROBE)]
    if len(idle) != 1:
        raise RuntimeError(f"expected one idle worker of {size}, found {len(idle)}")
    return idle[0]


async def _more(prompts: Sequence[pathlib.Path], before: int) -> bool:
    return dispatching.count(prompts) > before


async def _cli(s: harness.Stack, prompts: Sequence[pathlib.Path], prompt: str) -> float:
    await harness.until(lambda: dispatching.ready_workers(s.kube, 1))
    before = dispatching.count(prompts)
    argv = [sys.executable, "-m", "sprite_orchestrator.cli", "dispatch", "--repo", "demo"]
    argv += ["--command", prompt, "--kubeconfig", str(s.kubeconfig)]
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *argv, env=harness.environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    await harness.until(lambda: _more(prompts, before), every=0.002)
    elapsed = time.perf_counter() - start
    await proc.wait()
    await harness.until(lambda: _finished_all(s.kube))
    return elapsed


def _cli_start() -> float:
    """Seconds for `orchestrator version`: the Python start every CLI dispatch pays first."""
    argv = [sys.executable, "-m", "sprite_orchestrator.cli", "version"]
    start = time.perf_counter()
    subprocess.run(argv, env=harness.environment(), capture_output=True, check=True)
    return time.perf_counter() - start


async def _finished_all(kube: Kube) -> bool:
    """No task but the busy ones is still open."""
    for task in await kube.list("agenttasks", NS):
        if task["spec"]["prompt"].startswith(BUSY):
            continue
        found = dispatching.condition(task, "Succeeded")
        if found is None or found["status"] == "Unknown":
            return False
    return True


async def local(sizes: Sequence[int], runs: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="so-bench-") as tmp:
        root = pathlib.Path(tmp)
        repo = demo.make_repo(root / "src")
        async with harness.stack(root / "stack") as s:
            pool = dispatching.pool_body(repo, sizes[0], poll=POLL)
            pool["spec"]["scaling"]["minIdle"] = 1
            await s.kube.create("workerpools", NS, pool)

            async def grow(size: int) -> None:
                patch = {"spec": {"scaling": {"maxWorkers": size}}}
                await s.kube.patch("workerpools", NS, "demo", patch)

            return await measure_side(s, LocalSeed(s.state_dir, max(sizes)), sizes, runs, grow=grow)


async def ssh(sizes: Sequence[int], runs: int) -> list[dict[str, Any]]:
    with (
        sshd.inventory(max(sizes)) as machines,
        tempfile.TemporaryDirectory(prefix="so-bench-") as tmp,
    ):
        root = pathlib.Path(tmp)
        repo = machines.give(demo.make_repo(machines.root / "src"))
        async with harness.stack(root / "stack") as s:
            await dispatch_latency_ssh.ssh_pool(s, machines, repo, sizes[0], poll=POLL)

            async def grow(size: int) -> None:
                patch = {"spec": {"scaling": {"maxWorkers": size}}}
                await s.kube.patch("workerpools", NS, "demo", patch)

            return await measure_side(s, SSHSeed(machines, root), sizes, runs, grow=grow)


def main(argv: list[str]) -> int:
    sizes = [int(x) for x in argv[0].split(",")] if argv else [1, 10, 50]
    runs = int(argv[1]) if len(argv) > 1 else 5
    found: dict[str, Any] = {
        "what": "dispatch onto N workers, all but one busy: prompt sent -> read by the agent",
        "seed": "per worker one fresh probe (ssh + tmux list-windows), then ssh + send-keys",
        "ours_api": "AgentTask created through the API -> prompt read",
        "ours_cli": "`orchestrator dispatch` started -> prompt read (Python start included)",
        "setup": f"API emulator and operator in separate processes; pool polls every {POLL} s",
    }
    reason = sshd.skip_reason()
    if reason is None:
        found["ssh"] = asyncio.run(ssh(sizes, runs))
    else:
        found["ssh"] = {"skipped": reason}
        print(f"seed side by side on SSH workers: skipped ({reason})")
    found["local"] = asyncio.run(local(sizes, runs))
    found["cli_start_ms"] = harness.stats([_cli_start() for _ in range(runs)])
    found = harness.report("seed", found)
    for side in ("ssh", "local"):
        for p in found[side] if isinstance(found[side], list) else []:
            print(
                f"seed vs ours, {side}, {p['workers']} workers ({p['busy']} busy): seed median"
                f" {p['seed_ms']['median']} ms, ours {p['ours_api_ms']['median']} ms (API) /"
                f" {p['ours_cli_ms']['median']} ms (CLI); seed/ours {p['ratio_seed_over_api']}x"
                f" (API), {p['ratio_seed_over_cli']}x (CLI)"
            )
    print(harness.line("`orchestrator version` (the CLI's Python start)", found["cli_start_ms"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
