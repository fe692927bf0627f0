"""SSH pools as a user sees them: the real operator, real sshd machines, real tmux and git."""

from __future__ import annotations

import logging
import pathlib
import subprocess

import aiohttp
import pytest

from sprite_orchestrator.core import prompts
from tests.conftest import NS, Cluster, eventually
from tests.operator.test_dispatch import BIG_PROMPT, assert_succeeded_on, conditions
from tests.ssh import sshd
from tests.ssh.conftest import ssh_pool


def received(host: sshd.Host) -> list[bytes]:
    """What the demo agent on the machine got, one file per paste."""
    folder = host.home / ".sprite-orchestrator" / "demo-agent" / "prompts"
    files = sorted(folder.glob("*.txt"), key=lambda p: int(p.stem)) if folder.exists() else []
    return [p.read_bytes() for p in files]


async def all_events(cluster: Cluster) -> list[dict]:
    url = f"{cluster.url}/api/v1/namespaces/{NS}/events"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return list((await response.json())["items"])


async def reasons(cluster: Cluster, name: str) -> list[str]:
    return [e["reason"] for e in await all_events(cluster) if e["involvedObject"]["name"] == name]


async def condition_with(
    cluster: Cluster, plural: str, name: str, type_: str, reason: str, *, timeout: float = 30
) -> dict:
    """Wait until the object's condition `type_` has `reason`; return the condition."""

    async def probe() -> dict | None:
        body = await cluster.get(plural, name)
        found = [x for x in (body.get("status") or {}).get("conditions", []) if x["type"] == type_]
        return found[0] if found and found[0]["reason"] == reason else None

    return await eventually(probe, timeout=timeout)


def fingerprint(host: sshd.Host) -> str:
    listed = subprocess.run(
        ["ssh-keygen", "-lf", str(host.root / "host_key.pub")], capture_output=True, text=True
    )
    return listed.stdout.split()[1]  # SHA256:…


async def test_a_task_runs_on_an_ssh_worker_and_ends_succeeded(
    operator: Cluster, machines: sshd.Inventory, ssh_repo: pathlib.Path
) -> None:
    await ssh_pool(operator, machines, ssh_repo)
    prompt = "fix the authentication bug"
    name = await operator.task("demo", prompt)

    task = await operator.succeeded(name, timeout=60)

    assert_succeeded_on(task, "demo-1", prompt)
    first = machines.hosts[0]
    assert received(first) == [prompt.encode()]

    worker = await operator.get("workers", "demo-1")
    assert worker["spec"]["pool"] == "demo"
    assert worker["spec"]["provider"]["ssh"]["privateKeySecretRef"] == {"name": "ssh-key"}
    assert worker["metadata"]["ownerReferences"][0]["name"] == "demo"
    assert conditions(worker)["Provisioned"] == ("True", "Provisioned")
    assert worker["status"]["machine"] == f"ssh://so-test@127.0.0.1:{first.port}"
    assert first.claim.read_text() == "default/demo demo-1\n"

    repo = first.home / "demo"
    assert (repo / "README.md").exists() and (repo / "scripts" / "dev-setup.sh").exists()
    log = (first.home / ".sprite-orchestrator" / "provision.log").read_text()
    assert "Setting up the demo environment..." in log and "✅ Ready" in log
    windows = first.tmux("list-windows", "-t", "demo-dev", "-F", "#{window_index} #{window_name}")
    assert windows.stdout.splitlines()[0] == "0 shell"

    assert {"TaskScheduled", "PromptDelivered", "AgentCompleted"} <= set(
        await eventually(lambda: _having(reasons(operator, name), {"AgentCompleted"}))
    )
    assert "Provisioned" in await eventually(lambda: reasons(operator, "demo-1"))


async def _having(coro, wanted: set[str]) -> list[str] | None:
    found = await coro
    return found if wanted <= set(found) else None


async def test_a_100kb_prompt_arrives_byte_for_byte_over_ssh(
    operator: Cluster, machines: sshd.Inventory, ssh_repo: pathlib.Path
) -> None:
    await ssh_pool(operator, machines, ssh_repo)
    prompt = BIG_PROMPT
    name = await operator.task("demo", prompt)

    task = await operator.succeeded(name, timeout=60)

    assert conditions(task)["Succeeded"] == ("True", "AgentCompleted")
    expected = prompts.encode(prompt)
    assert received(machines.hosts[0]) == [expected]
    assert task["status"]["promptSha256"] == prompts.sha256(expected)


async def test_each_worker_claims_its_own_machine_and_gives_it_back_when_deleted(
    operator: Cluster, machines: sshd.Inventory, ssh_repo: pathlib.Path
) -> None:
    await ssh_pool(operator, machines, ssh_repo, scaling={"minIdle": 0, "maxWorkers": 2})
    names = [await operator.task("demo", f"task {i} demo:sleep=2") for i in range(2)]

    done = [await operator.succeeded(n, timeout=60) for n in names]

    assert {t["status"]["workerName"] for t in done} == {"demo-1", "demo-2"}
    claims = {h.claim.read_text(): h for h in machines.hosts}
    assert set(claims) == {"default/demo demo-1\n", "default/demo demo-2\n"}
    second = claims["default/demo demo-2\n"]
    assert [len(received(h)) for h in machines.hosts] == [1, 1]

    await operator.kube.delete("workers", NS, "demo-2")

    await eventually(lambda: _gone(operator, "demo-2"))
    assert not second.claim.exists()
    assert not (second.home / "demo").exists()
    assert not (second.home / ".sprite-orchestrator").exists()
    assert second.tmux("list-sessions").returncode != 0  # its tmux server is gone
    assert claims["default/demo demo-1\n"].claim.exists()


async def test_a_pool_removed_without_its_finalizer_still_gives_its_hosts_back(
    operator: Cluster, machines: sshd.Inventory, ssh_repo: pathlib.Path
) -> None:
    await ssh_pool(operator, machines, ssh_repo, scaling={"minIdle": 2, "maxWorkers": 2})
    for worker in ("demo-1", "demo-2"):
        await operator.condition("workers", worker, "Ready", status="True", timeout=60)

    await operator.remove_without_finalizer("workerpools", "demo")

    await eventually(lambda: _none_left(operator), timeout=60)
    for host in machines.hosts:
        assert not host.claim.exists()
        assert not (host.home / "demo").exists()
        assert host.tmux("list-sessions").returncode != 0  # its tmux server is gone


async def _none_left(cluster: Cluster) -> bool:
    return not await cluster.kube.list("workers", NS)


async def _gone(cluster: Cluster, worker: str) -> bool:
    return worker not in [w["metadata"]["name"] for w in await cluster.kube.list("workers", NS)]


async def test_a_wrong_host_key_fails_the_worker_with_HostKeyMismatch(
    operator: Cluster, machines: sshd.Inventory, ssh_repo: pathlib.Path
) -> None:
    first, second = machines.hosts
    changed = f"[{first.address}]:{first.port} {second.public_key}\n{second.known_hosts_line}\n"
    await ssh_pool(operator, machines, ssh_repo, known_hosts=changed.encode())
    await operator.task("demo", "never delivered")

    provisioned = await condition_with(
        operator, "workers", "demo-1", "Provisioned", "HostKeyMismatch"
    )

    assert provisioned["status"] == "False"
    assert f"the host key of 127.0.0.1:{first.port} is not trusted" in provisioned["message"]
    assert fingerprint(first) in provisioned["message"]
    worker = await operator.get("workers", "demo-1")
    assert conditions(worker)["Ready"] == ("False", "HostKeyMismatch")
    assert not first.claim.exists() and not second.claim.exists()  # no machine was guessed
    assert first.accepted_logins() == 0


async def test_a_machine_that_drops_off_mid_task_is_HostUnreachable_then_recovers(
    operator: Cluster, machines: sshd.Inventory, ssh_repo: pathlib.Path
) -> None:
    await ssh_pool(operator, machines, ssh_repo, scaling={"minIdle": 0, "maxWorkers": 1})
    name = await operator.task("demo", "a long task demo:sleep=5")
    await operator.condition("agenttasks", name, "Delivered")
    first = machines.hosts[0]

    first.stop()
    ready = await condition_with(operator, "workers", "demo-1", "Ready", "HostUnreachable")
    first.start()

    assert ready["status"] == "False"
    assert f"127.0.0.1:{first.port}" in ready["message"]
    task = await operator.succeeded(name, timeout=60)
    assert conditions(task)["Succeeded"] == ("True", "AgentCompleted")
    assert received(first) == [b"a long task demo:sleep=5"]
    worker = await condition_with(operator, "workers", "demo-1", "Ready", "AgentWaiting")
    assert worker["status"] == "True"


async def test_the_private_key_never_shows_in_logs_events_status_or_files(
    operator: Cluster,
    machines: sshd.Inventory,
    ssh_repo: pathlib.Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="asyncssh")
    await ssh_pool(operator, machines, ssh_repo)
    name = await operator.task("demo", "a task")
    await operator.succeeded(name, timeout=60)

    secret = _key_lines(machines.private_key)
    logged = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert "Auth for user so-test succeeded" in logged  # asyncssh did speak, at DEBUG
    assert not any(line in logged for line in secret)
    shown = str(await all_events(operator))
    for plural in ("workerpools", "workers", "agenttasks"):
        shown += str(await operator.kube.list(plural, NS))
    assert not any(line in shown for line in secret)
    written = [p for p in operator.state_dir.rglob("*") if p.is_file()]
    assert not any(line.encode() in p.read_bytes() for p in written for line in secret)


def _key_lines(pem: bytes) -> list[str]:
    """The base64 lines of a private key: any one of them in a log would be a leak."""
    return [line for line in pem.decode().splitlines() if line and not line.startswith("-----")]
