"""SSH pools end to end: two real sshd "machines" on 127.0.0.1 and the real operator.

Without root or /usr/sbin/sshd these tests skip and say what is missing.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from sprite_orchestrator.cli import demo
from tests.conftest import NS, Cluster
from tests.ssh import sshd

KEY_SECRET = "ssh-key"
KNOWN_HOSTS_SECRET = "ssh-known-hosts"


@pytest.fixture
def machines() -> Iterator[sshd.Inventory]:
    """Two machines reachable as so-test over SSH, each with its own HOME and host key."""
    reason = sshd.skip_reason()
    if reason is not None:
        pytest.skip(reason)
    with sshd.inventory(2) as inventory:
        yield inventory


@pytest.fixture
def ssh_repo(machines: sshd.Inventory) -> pathlib.Path:
    """The demo repo, where the machines' account can clone it from."""
    return machines.give(demo.make_repo(machines.root / "src"))


async def ssh_pool(
    cluster: Cluster,
    machines: sshd.Inventory,
    repo: pathlib.Path,
    *,
    known_hosts: bytes | None = None,
    **spec: object,
) -> None:
    """The Secrets and the WorkerPool `demo` on the machines, as a user applies them."""
    await cluster.kube.create_secret(NS, KEY_SECRET, {"ssh-privatekey": machines.private_key})
    hosts = machines.known_hosts() if known_hosts is None else known_hosts
    await cluster.kube.create_secret(NS, KNOWN_HOSTS_SECRET, {"known_hosts": hosts})
    provider = machines.provider_spec(key_secret=KEY_SECRET, known_hosts_secret=KNOWN_HOSTS_SECRET)
    await cluster.pool("demo", repo, provider=provider, **spec)
