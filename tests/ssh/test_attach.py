"""`orchestrator attach` for an SSH worker: an ssh command that reaches the worker's session."""

from __future__ import annotations

import asyncio
import pathlib
import shlex
import sys

from sprite_orchestrator.devserver.serving import write_kubeconfig
from tests.conftest import Cluster
from tests.ssh import sshd
from tests.ssh.conftest import ssh_pool


async def run(*argv: str) -> tuple[int, str, str]:
    """A command run without blocking the loop that serves the API and the operator."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_attach_prints_an_ssh_command_that_reaches_the_session(
    operator: Cluster, machines: sshd.Inventory, ssh_repo: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    await ssh_pool(operator, machines, ssh_repo, scaling={"minIdle": 1, "maxWorkers": 1})
    await operator.condition("workers", "demo-1", "Ready", status="True", timeout=60)
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", operator.url)
    cli = [sys.executable, "-m", "sprite_orchestrator.cli"]

    code, out, err = await run(*cli, "attach", "demo-1", "--print", "--kubeconfig", str(kubeconfig))

    assert code == 0, err
    port = machines.hosts[0].port
    argv = shlex.split(out)
    assert argv == [
        "ssh",
        "-t",
        "-p",
        str(port),
        "so-test@127.0.0.1",
        "tmux",
        "attach",
        "-t",
        "demo-dev",
    ]
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_bytes(machines.known_hosts())
    identity = ["-F", "/dev/null", "-i", str(machines.private_key_path), "-o", "BatchMode=yes"]
    identity += ["-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes"]
    # ssh joins its words into one line for the remote shell: quote what needs it.
    listing = shlex.join(["list-windows", "-t", "demo-dev", "-F", "#I #W"])
    code, out, err = await run(argv[0], *identity, *argv[1:6], listing)
    assert code == 0, err
    assert out.splitlines() == ["0 shell", "1 agent:waiting"]
