"""Dispatch latency on a warm SSH worker: AgentTask created → prompt in the agent's input.

The same measurement as bench/dispatch_latency.py, on a pool with provider SSH whose one
machine is a real OpenSSH sshd on 127.0.0.1 (the tests' fixture, tests/ssh/sshd.py): every
step of the dispatch (poll, delivery, the agent's restart) crosses SSH on the provider's
pooled connection. Needs root and /usr/sbin/sshd; says so and skips otherwise. Writes
bench/results/dispatch_latency_ssh.json.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.ssh import sshd

from bench import dispatching, harness
from bench.harness import NS
from sprite_orchestrator.cli import demo


async def measure(runs: int) -> dict[str, Any]:
    with sshd.inventory(1) as machines, tempfile.TemporaryDirectory(prefix="so-bench-") as tmp:
        repo = machines.give(demo.make_repo(machines.root / "src"))
        async with harness.stack(Path(tmp) / "stack") as s:
            await ssh_pool(s, machines, repo, len(machines.hosts))
            prompts = [h.home / dispatching.PROMPTS for h in machines.hosts]
            await harness.until(lambda: dispatching.ready_workers(s.kube, 1), timeout=180)
            samples = await dispatching.measure(s.kube, prompts, runs)
    return {
        "what": dispatching.WHAT,
        "provider": "SSH (OpenSSH sshd on 127.0.0.1, demo agent in real tmux)",
        "setup": "API emulator and operator in separate processes",
        "latency_ms": harness.stats(samples),
    }


async def ssh_pool(
    s: harness.Stack,
    machines: sshd.Inventory,
    repo: Path,
    workers: int,
    *,
    min_idle: int = 1,
    poll: int = 1,
) -> None:
    """The demo pool on the inventory's SSH machines, its Secrets first."""
    await s.kube.create_secret(NS, "ssh-key", {"ssh-privatekey": machines.private_key})
    await s.kube.create_secret(NS, "ssh-hosts", {"known_hosts": machines.known_hosts()})
    pool = dispatching.pool_body(repo, workers, poll=poll)
    pool["spec"]["scaling"]["minIdle"] = min_idle
    pool["spec"]["provider"] = machines.provider_spec(
        key_secret="ssh-key", known_hosts_secret="ssh-hosts"
    )
    await s.kube.create("workerpools", NS, pool)


def main(argv: list[str]) -> int:
    reason = sshd.skip_reason()
    if reason is not None:
        print(f"dispatch latency on a warm SSH worker: skipped ({reason})")
        return 0
    runs = int(argv[0]) if argv else 40
    found = harness.report("dispatch_latency_ssh", asyncio.run(measure(runs)))
    print(harness.line("dispatch latency, warm SSH worker", found["latency_ms"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
