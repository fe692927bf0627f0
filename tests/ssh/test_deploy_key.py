"""A repo cloned over SSH with the deploy key: the git host's key is verified, never trusted.

A Local pool whose repo is `ssh://so-test@127.0.0.1:PORT/…` on a real sshd machine, the
machine's client key as the deploy key.
"""

from __future__ import annotations

import pathlib
import subprocess

from sprite_orchestrator import API_VERSION
from sprite_orchestrator.cli import demo
from tests.conftest import NS, Cluster
from tests.operator.test_dispatch import conditions
from tests.ssh import sshd
from tests.ssh.test_ssh_pools import condition_with

DEPLOY = "deploy-key"
KNOWN = "git-known-hosts"


async def keyed_pool(
    cluster: Cluster, machines: sshd.Inventory, repo: pathlib.Path, known_hosts: bytes | None
) -> None:
    """The pool `demo` cloning `repo` from the first machine with the deploy key."""
    host = machines.hosts[0]
    await cluster.kube.create_secret(NS, DEPLOY, {"ssh-privatekey": machines.private_key})
    spec: dict[str, object] = {"deployKeySecretRef": {"name": DEPLOY}}
    if known_hosts is not None:
        await cluster.kube.create_secret(NS, KNOWN, {"known_hosts": known_hosts})
        spec["knownHostsSecretRef"] = {"name": KNOWN}
    spec["url"] = f"ssh://{sshd.USER}@{host.address}:{host.port}{repo}"
    body = {
        "apiVersion": API_VERSION,
        "kind": "WorkerPool",
        "metadata": {"name": "demo", "namespace": NS},
        "spec": {"repo": spec, "agent": {"command": demo.DEMO_AGENT}, "pollIntervalSeconds": 1},
    }
    await cluster.kube.create("workerpools", NS, body)


async def test_a_known_host_key_clones_over_ssh_with_the_deploy_key(
    operator: Cluster, machines: sshd.Inventory, ssh_repo: pathlib.Path
) -> None:
    await keyed_pool(operator, machines, ssh_repo, machines.known_hosts([machines.hosts[0]]))

    _, provisioned = await operator.condition("workers", "demo-1", "Provisioned", timeout=60)

    assert (provisioned["status"], provisioned["reason"]) == ("True", "Provisioned")
    clone = operator.machines()[0] / "home" / "demo"
    assert (clone / "scripts" / "dev-setup.sh").exists()
    command = subprocess.run(
        ["git", "-C", str(clone), "config", "core.sshCommand"], capture_output=True, text=True
    ).stdout
    assert "StrictHostKeyChecking=yes" in command and "BatchMode=yes" in command
    assert machines.hosts[0].accepted_logins() >= 1


async def test_a_wrong_host_key_fails_the_clone_with_HostKeyMismatch(
    operator: Cluster, machines: sshd.Inventory, ssh_repo: pathlib.Path
) -> None:
    first, second = machines.hosts
    wrong = f"[{first.address}]:{first.port} {second.public_key}\n".encode()
    await keyed_pool(operator, machines, ssh_repo, wrong)

    provisioned = await condition_with(
        operator, "workers", "demo-1", "Provisioned", "HostKeyMismatch"
    )

    assert provisioned["status"] == "False"
    assert "the git host's key is not in spec.repo.knownHostsSecretRef" in provisioned["message"]
    assert "Host key verification failed" in provisioned["message"]
    assert first.accepted_logins() == 0
    assert not (operator.machines()[0] / "home" / "demo").exists()


async def test_a_deploy_key_over_ssh_without_known_hosts_is_KnownHostsRequired(
    operator: Cluster, machines: sshd.Inventory, ssh_repo: pathlib.Path
) -> None:
    await keyed_pool(operator, machines, ssh_repo, None)

    provisioned = await condition_with(
        operator, "workers", "demo-1", "Provisioned", "KnownHostsRequired"
    )

    assert provisioned["status"] == "False"
    assert "spec.repo.knownHostsSecretRef is required" in provisioned["message"]
    assert machines.hosts[0].accepted_logins() == 0
    worker = await operator.get("workers", "demo-1")
    assert conditions(worker)["Ready"] == ("False", "KnownHostsRequired")
