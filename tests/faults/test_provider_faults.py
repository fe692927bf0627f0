"""Faults of the providers' transport: an SSH connection that drops mid-exec, a Sprites call
that stalls, a setup script that hangs past the provisioning deadline on an SSH machine.

Each is injected where it hurts most (during the paste, during provisioning) and the test
asserts what a user sees: conditions with their reason, and prompts counted where they land.
"""

from __future__ import annotations

import hashlib
import pathlib
import shutil

import pytest

from sprite_orchestrator.providers import sprites
from sprite_orchestrator.worker import remote
from tests.conftest import Cluster, eventually
from tests.fakes.sprites import FakeSprites
from tests.operator.test_dispatch import conditions
from tests.operator.test_worker_health import repo_with_setup
from tests.sprites.conftest import received, sprites_pool
from tests.ssh import sshd
from tests.ssh.conftest import ssh_pool
from tests.ssh.test_ssh_pools import condition_with
from tests.ssh.test_ssh_pools import received as received_on_host


def slow_paste_shim(host: sshd.Host) -> tuple[pathlib.Path, pathlib.Path]:
    """A tmux on the host's PATH that, at the first paste, says so and waits for a go-ahead.

    Returns (the file it makes when it holds the paste, the file that lets it go on).
    """
    holding, release = host.home / "shim-holding", host.home / "shim-release"
    real = shutil.which("tmux")
    script = f"""#!/bin/sh
case " $* " in
*" paste-buffer "*)
    if [ ! -e {holding} ]; then
        : >{holding}
        while [ ! -e {release} ]; do sleep 0.05; done
    fi ;;
esac
exec {real} "$@"
"""
    shim = host.bin / "tmux"
    shim.write_text(script)
    shim.chmod(0o755)
    return holding, release


async def test_an_ssh_connection_dropped_during_the_paste_pastes_once_and_succeeds(
    operator: Cluster, machines: sshd.Inventory, ssh_repo: pathlib.Path
) -> None:
    first = machines.hosts[0]
    holding, release = slow_paste_shim(first)
    await ssh_pool(operator, machines, ssh_repo, scaling={"minIdle": 0, "maxWorkers": 1})
    prompt = "pasted while the connection drops"
    name = await operator.task("demo", prompt)
    await eventually(lambda: _exists(holding), timeout=90)  # deliver.sh claimed, pastes now

    dropped = first.drop_connections()
    release.touch()  # the paste goes on, on a machine the operator cannot hear

    task = await operator.succeeded(name, timeout=90)
    assert dropped > 0
    assert received_on_host(first) == [prompt.encode()]
    assert conditions(task)["Delivered"] == ("True", "PromptDelivered")
    assert conditions(task)["Succeeded"] == ("True", "AgentCompleted")
    assert first.accepted_logins() >= 2  # it did reconnect


async def _exists(path: pathlib.Path) -> bool:
    return path.exists()


async def test_a_stalled_sprites_call_while_provisioning_is_a_condition_then_recovers(
    sprites_api: FakeSprites,
    operator: Cluster,
    demo_repo: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sprites, "API_TIMEOUT", 3.0)  # for the pool's provider, made below
    stalled = sprites_api.stall("GET", "/v1/sprites/demo-1")  # looking it up: no answer
    await sprites_pool(operator, sprites_api, demo_repo, scaling={"minIdle": 0, "maxWorkers": 1})
    name = await operator.task("demo", "after the stall")

    provisioned = await condition_with(
        operator, "workers", "demo-1", "Provisioned", "SpritesUnreachable"
    )
    stalled.release.set()  # the API answers again

    assert provisioned["status"] == "False"
    assert "looking up sprite demo-1: cannot reach the Sprites API" in provisioned["message"]
    assert "no answer within 3s" in provisioned["message"]
    task = await operator.succeeded(name, timeout=90)
    assert conditions(task)["Succeeded"] == ("True", "AgentCompleted")
    assert received(sprites_api, "demo-1") == [b"after the stall"]
    assert list(sprites_api.sprites) == ["demo-1"] and stalled.held == 1


async def test_a_sprites_delivery_whose_answer_is_lost_pastes_once_and_succeeds(
    sprites_api: FakeSprites, operator: Cluster, demo_repo: pathlib.Path
) -> None:
    deliver = hashlib.sha256(remote.asset("deliver.sh").encode()).hexdigest()
    lost = sprites_api.stall(
        "GET", r"/v1/sprites/demo-1/exec", argv=f"{deliver}.sh", after_command=True
    )
    await sprites_pool(operator, sprites_api, demo_repo, scaling={"minIdle": 0, "maxWorkers": 1})
    prompt = "pasted, then the answer is lost"
    name = await operator.task("demo", prompt)
    await eventually(lambda: _pasted(sprites_api), timeout=90)  # the exec ran; no answer yet

    lost.release.set()  # the connection is cut: no output, no exit status

    task = await operator.succeeded(name, timeout=90)
    assert received(sprites_api, "demo-1") == [prompt.encode()]
    assert conditions(task)["Delivered"] == ("True", "PromptDelivered")
    assert conditions(task)["Succeeded"] == ("True", "AgentCompleted")
    assert lost.held == 1


async def _pasted(api: FakeSprites) -> bool:
    return "demo-1" in api.sprites and bool(received(api, "demo-1"))


# A setup script that hangs on its first run only, ignoring TERM and HUP as a stubborn one
# may: it must not outlive the provisioning deadline, nor hold provision.sh's lock after it.
HANGS_ONCE = """#!/bin/bash
echo warming up
if [ ! -e "$HOME/hung-once" ]; then
    trap '' TERM HUP
    sleep 600 &
    echo "$$ $!" >"$HOME/hung-once"
    wait
fi
echo warmed up
"""


async def test_a_hanging_setup_script_on_an_ssh_machine_is_killed_at_the_deadline(
    operator: Cluster, machines: sshd.Inventory
) -> None:
    first = machines.hosts[0]
    repo = machines.give(repo_with_setup(machines.root / "src", HANGS_ONCE))
    await ssh_pool(
        operator,
        machines,
        repo,
        scaling={"minIdle": 0, "maxWorkers": 1},
        provisioning={"timeoutSeconds": 8},
    )
    name = await operator.task("demo", "after the hang")
    hung = await eventually(lambda: _pids(first.home / "hung-once"), timeout=90)  # it hangs

    provisioned = await condition_with(
        operator, "workers", "demo-1", "Provisioned", "ProvisioningTimedOut"
    )
    await eventually(lambda: _all_gone(hung), timeout=60)

    assert "longer than 8s (provisioning.timeoutSeconds)" in provisioned["message"]
    task = await operator.succeeded(name, timeout=90)
    assert conditions(task)["Succeeded"] == ("True", "AgentCompleted")
    assert received_on_host(first) == [b"after the hang"]
    log = (first.home / ".sprite-orchestrator" / "provision.log").read_text()
    assert log.count("warming up") == 2 and log.count("warmed up") == 1


async def _pids(path: pathlib.Path) -> list[int] | None:
    """The script's and its child's pids, once it wrote both."""
    words = path.read_text().split() if path.exists() else []
    return [int(w) for w in words] if len(words) == 2 else None


async def _all_gone(pids: list[int]) -> bool:
    return not any(pathlib.Path(f"/proc/{pid}").exists() for pid in pids)
