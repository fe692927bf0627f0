"""Dispatch latency on a warm SSH worker: AgentTask created → prompt in the agent's input.

The same measurement as bench/dispatch_latency.py, on a pool with provider SSH whose one
machine is a real OpenSSH sshd on 127.0.0.1 (the tests' fixture, tests/ssh/sshd.py): every
step of the dispatch (poll, delivery, the agent's restart) crosses SSH on the provider's
pooled connection. Needs root and /usr/sbin/sshd; says so and skips otherwise. Prints the
figures and writes bench/results/dispatch_latency_ssh.json.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from tests.ssh import sshd

from bench import dispatching
from bench.dispatching import NS
from sprite_orchestrator import embedded
from sprite_orchestrator.cli import demo


async def measure(runs: int) -> dict[str, object]:
    with sshd.inventory(1) as machines, tempfile.TemporaryDirectory(prefix="so-bench-") as tmp:
        repo = machines.give(demo.make_repo(machines.root / "src"))
        async with embedded.control_plane(Path(tmp) / "workers") as cp:
            await cp.kube.create_secret(NS, "ssh-key", {"ssh-privatekey": machines.private_key})
            await cp.kube.create_secret(NS, "ssh-hosts", {"known_hosts": machines.known_hosts()})
            pool = demo.pool_body(repo, claude=False)
            pool["spec"]["scaling"] = {"minIdle": 1, "maxWorkers": 1}
            pool["spec"]["provider"] = machines.provider_spec(
                key_secret="ssh-key", known_hosts_secret="ssh-hosts"
            )
            await cp.kube.create("workerpools", NS, pool)
            home = machines.hosts[0].home
            prompts = home / ".sprite-orchestrator" / "demo-agent" / "prompts"
            samples = await dispatching.measure(cp, prompts, runs)
    return dispatching.figures(samples, runs, provider="SSH (OpenSSH sshd on 127.0.0.1)")


def main(argv: list[str]) -> int:
    reason = sshd.skip_reason()
    if reason is not None:
        print(f"dispatch latency on a warm SSH worker: skipped ({reason})")
        return 0
    runs = int(argv[0]) if argv else 20
    figures = asyncio.run(measure(runs))
    label = "dispatch latency on a warm SSH worker"
    dispatching.report("dispatch_latency_ssh", figures, label=label)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
