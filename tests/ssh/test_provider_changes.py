"""What an SSH pool's provider reads and when: its spec, its Secrets, their changes."""

from __future__ import annotations

import asyncio
import pathlib

from sprite_orchestrator.handlers.runtime import Runtime
from sprite_orchestrator.models import WorkerPoolSpec
from sprite_orchestrator.providers import ssh
from tests.conftest import NS, Cluster, eventually
from tests.operator.test_dispatch import conditions
from tests.ssh import sshd
from tests.ssh.conftest import KEY_SECRET, KNOWN_HOSTS_SECRET, ssh_pool


def pool_spec(machines: sshd.Inventory, hosts: list[sshd.Host], **extra: object) -> WorkerPoolSpec:
    provider = machines.provider_spec(
        key_secret=KEY_SECRET, known_hosts_secret=KNOWN_HOSTS_SECRET, hosts=hosts
    )
    return WorkerPoolSpec.model_validate({"repo": {"url": "-"}, "provider": provider, **extra})


async def test_a_changed_inventory_takes_effect_and_the_old_connections_close(
    operator: Cluster, machines: sshd.Inventory, tmp_path: pathlib.Path
) -> None:
    await operator.kube.create_secret(NS, KEY_SECRET, {"ssh-privatekey": machines.private_key})
    await operator.kube.create_secret(
        NS, KNOWN_HOSTS_SECRET, {"known_hosts": machines.known_hosts()}
    )
    first, second = machines.hosts
    rt = Runtime(kube=operator.kube, state_dir=tmp_path)
    one_host = pool_spec(machines, [first])

    before = rt.provider_for(NS, "kite", one_host)
    await before.create("kite-1")
    same = rt.provider_for(NS, "kite", pool_spec(machines, [first], pollIntervalSeconds=9))
    after = rt.provider_for(NS, "kite", pool_spec(machines, [first, second]))
    await asyncio.gather(*rt.retiring)

    assert same is before and after is not before
    assert await eventually(lambda: _logged(first, "Received disconnect"))  # the old one hung up
    assert (await after.create("kite-2")).id == ssh.machine_id(
        "so-test", ssh.Host(second.address, second.port)
    )
    assert [m.name for m in await after.list()] == ["kite-1", "kite-2"]
    await after.close()


async def test_a_missing_secret_fails_the_worker_with_SecretNotFound(
    operator: Cluster, machines: sshd.Inventory, ssh_repo: pathlib.Path
) -> None:
    provider = machines.provider_spec(key_secret=KEY_SECRET, known_hosts_secret=KNOWN_HOSTS_SECRET)
    await operator.pool(
        "demo", ssh_repo, provider=provider, scaling={"minIdle": 1, "maxWorkers": 1}
    )

    _, provisioned = await operator.condition("workers", "demo-1", "Provisioned", status="False")

    assert provisioned["reason"] == "SecretNotFound"
    assert f"privateKeySecretRef: Secret {KEY_SECRET} not found" in provisioned["message"]
    assert provisioned["message"].count("not found") == 1  # said once, not once per host


async def test_two_pools_never_share_a_machine(
    operator: Cluster, machines: sshd.Inventory, ssh_repo: pathlib.Path
) -> None:
    await ssh_pool(operator, machines, ssh_repo, scaling={"minIdle": 2, "maxWorkers": 2})
    await operator.condition("workers", "demo-2", "Ready", status="True", timeout=60)
    provider = machines.provider_spec(key_secret=KEY_SECRET, known_hosts_secret=KNOWN_HOSTS_SECRET)
    await operator.pool(
        "kite", ssh_repo, provider=provider, scaling={"minIdle": 1, "maxWorkers": 1}
    )

    _, provisioned = await operator.condition("workers", "kite-1", "Provisioned", status="False")

    assert provisioned["reason"] == "NoFreeHost"
    assert "by default/demo demo-1" in provisioned["message"]
    assert sorted(h.claim.read_text() for h in machines.hosts) == [
        "default/demo demo-1\n",
        "default/demo demo-2\n",
    ]
    assert await eventually(lambda: _still_ready(operator, "demo-1"))


async def _still_ready(cluster: Cluster, worker: str) -> bool:
    return conditions(await cluster.get("workers", worker))["Ready"][0] == "True"


async def _logged(host: sshd.Host, text: str) -> bool:
    return text in host.log.read_text()
