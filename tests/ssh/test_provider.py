"""The SSH provider against real OpenSSH sshd machines on 127.0.0.1 (tests/ssh/sshd.py)."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from sprite_orchestrator.providers import ssh
from sprite_orchestrator.providers.base import ExecTimeout, MachineNotFound, ProviderError
from tests.ssh import sshd

Make = Callable[..., ssh.SSHProvider]


@pytest.fixture
async def make(machines: sshd.Inventory) -> AsyncIterator[Make]:
    """Providers for the machines (a second one is the operator after a restart)."""
    made: list[ssh.SSHProvider] = []

    def build(
        *, pool: str = "kite", known_hosts: bytes | None = None, key: bytes | None = None
    ) -> ssh.SSHProvider:
        credentials = ssh.Credentials(
            private_key=machines.private_key if key is None else key,
            known_hosts=machines.known_hosts() if known_hosts is None else known_hosts,
        )

        async def source() -> ssh.Credentials:
            return credentials

        provider = ssh.SSHProvider(
            namespace="default",
            pool=pool,
            hosts=[ssh.Host(h.address, h.port) for h in machines.hosts],
            user=machines.user,
            credentials=source,
        )
        made.append(provider)
        return provider

    yield build
    for provider in made:
        await provider.close()


async def test_exec_runs_the_argv_at_home_with_exit_code_and_both_streams(
    make: Make, machines: sshd.Inventory
) -> None:
    provider = make()
    await provider.create("kite-1")

    result = await provider.exec(
        "kite-1", ["bash", "-c", 'pwd; cat; echo "to stderr" >&2; exit 7'], stdin=b"in\n"
    )

    home = str(machines.hosts[0].home)
    assert (result.exit_code, result.stdout, result.stderr) == (
        7,
        f"{home}\nin\n".encode(),
        b"to stderr\n",
    )


async def test_arguments_and_stdin_arrive_exactly_as_given(make: Make) -> None:
    provider = make()
    await provider.create("kite-1")
    word = 'it\'s $HOME `id` $(id) ; && | > \\ "q" \n new line 日本語 👩‍💻 *'
    data = bytes(range(256)) * 400  # 100 KB, every byte value

    args = await provider.exec("kite-1", ["printf", "%s|", word, "", "-n"])
    echoed = await provider.exec("kite-1", ["cat"], stdin=data)
    env = await provider.exec("kite-1", ["bash", "-c", 'echo "$LANG $EXTRA"'], env={"EXTRA": word})

    assert args.stdout.decode() == f"{word}||-n|"
    assert echoed.stdout == data
    assert env.stdout.decode() == f"C.UTF-8 {word}\n"


async def test_a_command_past_its_timeout_is_killed_on_the_machine(
    make: Make, machines: sshd.Inventory
) -> None:
    provider = make()
    await provider.create("kite-1")
    script = "sleep 60 & echo $! > child; sleep 60"
    started = time.monotonic()

    with pytest.raises(ExecTimeout, match="ran longer than 1s"):
        await provider.exec("kite-1", ["bash", "-c", script], timeout=1)

    assert time.monotonic() - started < 5
    child = int((machines.hosts[0].home / "child").read_text())
    await _until(lambda: not Path(f"/proc/{child}").exists())  # its whole group went


async def test_one_connection_serves_every_command_to_a_machine(
    make: Make, machines: sshd.Inventory
) -> None:
    provider = make()
    await provider.create("kite-1")

    results = await asyncio.gather(*(provider.exec("kite-1", ["true"]) for _ in range(20)))

    assert all(r.ok for r in results)
    assert machines.hosts[0].accepted_logins() == 1


async def test_a_host_that_allows_few_sessions_at_a_time_still_serves_them_all() -> None:
    reason = sshd.skip_reason()
    if reason is not None:
        pytest.skip(reason)
    with sshd.inventory(1, options=["MaxSessions 2"]) as strict:
        hosts = [ssh.Host(h.address, h.port) for h in strict.hosts]
        credentials = ssh.Credentials(
            private_key=strict.private_key, known_hosts=strict.known_hosts()
        )

        async def source() -> ssh.Credentials:
            return credentials

        provider = ssh.SSHProvider(
            namespace="default", pool="kite", hosts=hosts, user=strict.user, credentials=source
        )
        await provider.create("kite-1")

        results = await asyncio.gather(
            *(provider.exec("kite-1", ["echo", str(i)]) for i in range(8))
        )

        assert [r.stdout for r in results] == [f"{i}\n".encode() for i in range(8)]
        assert strict.hosts[0].accepted_logins() == 1
        await provider.close()


async def test_create_claims_a_free_machine_per_worker_on_the_machine_itself(
    make: Make, machines: sshd.Inventory
) -> None:
    provider = make()
    first, second = machines.hosts

    one = await provider.create("kite-1")
    again = await provider.create("kite-1")
    two = await provider.create("kite-2")

    assert one == again
    assert one.id == f"ssh://so-test@127.0.0.1:{first.port}"
    assert two.id == f"ssh://so-test@127.0.0.1:{second.port}"
    assert first.claim.read_text() == "default/kite kite-1\n"
    assert second.claim.read_text() == "default/kite kite-2\n"
    assert one.attach == ("ssh", "-t", "-p", str(first.port), "so-test@127.0.0.1", "tmux")
    with pytest.raises(ProviderError, match="no free host for kite-3") as full:
        await provider.create("kite-3")
    assert full.value.reason == "NoFreeHost"


async def test_claims_are_found_again_after_a_restart(make: Make) -> None:
    before = make()
    await before.create("kite-1")
    await before.create("kite-2")
    await before.exec("kite-2", ["bash", "-c", "echo kept > note"])

    after = make()

    assert [m.name for m in await after.list()] == ["kite-1", "kite-2"]
    assert (await after.exec("kite-2", ["cat", "note"])).stdout == b"kept\n"
    assert await after.create("kite-2") == (await before.create("kite-2"))
    with pytest.raises(MachineNotFound):
        await after.exec("kite-3", ["true"])


async def test_a_machine_claimed_by_another_pool_is_never_taken(
    make: Make, machines: sshd.Inventory
) -> None:
    await make(pool="other").create("other-1")

    mine = await make(pool="kite").create("kite-1")

    assert mine.id.endswith(f":{machines.hosts[1].port}")
    with pytest.raises(ProviderError, match="no free host") as full:
        await make(pool="kite").create("kite-2")
    assert f"127.0.0.1:{machines.hosts[0].port} by default/other other-1" in str(full.value)
    assert [m.name for m in await make(pool="kite").list()] == ["kite-1"]


async def test_destroy_kills_the_session_removes_the_work_and_frees_the_machine(
    make: Make, machines: sshd.Inventory
) -> None:
    provider = make()
    first = machines.hosts[0]
    await provider.create("kite-1")
    await provider.exec("kite-1", ["tmux", "new-session", "-d", "-s", "kite-dev", "sleep 300"])
    await provider.exec("kite-1", ["bash", "-c", "mkdir -p kite/.git && echo x > kite/file"])
    (first.home / "keep.txt").write_text("the account's own file\n")
    pane = int(first.tmux("list-panes", "-a", "-F", "#{pane_pid}").stdout)

    await provider.destroy("kite-1")
    await provider.destroy("kite-1")  # a machine already freed is not an error

    assert first.tmux("list-sessions").returncode != 0
    await _until(lambda: not Path(f"/proc/{pane}").exists())
    assert sorted(p.name for p in first.home.iterdir()) == ["keep.txt"]
    assert await provider.list() == []
    assert (await provider.create("kite-2")).id.endswith(f":{first.port}")


async def test_an_unknown_or_changed_host_key_is_HostKeyMismatch(
    make: Make, machines: sshd.Inventory
) -> None:
    first, second = machines.hosts
    changed = f"[{first.address}]:{first.port} {second.public_key}\n".encode()

    for known_hosts in (machines.known_hosts([second]), changed):
        with pytest.raises(ProviderError) as failed:
            await make(known_hosts=known_hosts).create("kite-1")
        assert failed.value.reason == "HostKeyMismatch"
        assert f"the host key of 127.0.0.1:{first.port} is not trusted" in str(failed.value)
        assert "It offered ssh-ed25519 SHA256:" in str(failed.value)
    assert first.accepted_logins() == 0
    assert not first.claim.exists() and not second.claim.exists()


async def test_an_unreachable_machine_is_HostUnreachable_until_it_returns(
    make: Make, machines: sshd.Inventory
) -> None:
    provider = make()
    await provider.create("kite-1")
    first = machines.hosts[0]

    first.stop()
    with pytest.raises(ProviderError) as down:
        await provider.exec("kite-1", ["true"])
    first.start()
    await asyncio.sleep(ssh._BACKOFF[0])

    assert down.value.reason == "HostUnreachable"
    assert f"127.0.0.1:{first.port}" in str(down.value)
    assert (await provider.exec("kite-1", ["echo", "back"])).stdout == b"back\n"


async def test_where_a_worker_is_stays_unknown_while_a_machine_cannot_be_asked(
    make: Make, machines: sshd.Inventory
) -> None:
    await make().create("kite-1")
    machines.hosts[0].stop()
    restarted = make()

    with pytest.raises(ProviderError, match="cannot place kite-9: 1 of 2 hosts") as refused:
        await restarted.create("kite-9")

    assert refused.value.reason == "HostUnreachable"
    assert not machines.hosts[1].claim.exists()  # kite-9 could be on the silent machine


async def test_a_refused_or_unusable_key_says_so(make: Make, machines: sshd.Inventory) -> None:
    other = machines.root / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)

    with pytest.raises(ProviderError) as refused:
        await make(key=other.read_bytes()).create("kite-1")
    with pytest.raises(ProviderError) as garbage:
        await make(key=b"not a key").create("kite-1")

    assert refused.value.reason == "AuthenticationFailed"
    assert "refused the key of spec.provider.ssh.privateKeySecretRef" in str(refused.value)
    assert garbage.value.reason == "InvalidPrivateKey"


async def test_the_private_key_is_never_logged(
    make: Make, machines: sshd.Inventory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="asyncssh")
    provider = make()
    await provider.create("kite-1")
    await provider.exec("kite-1", ["true"])
    machines.hosts[0].stop()
    with pytest.raises(ProviderError):
        await provider.exec("kite-1", ["true"])

    lines = [line for line in machines.private_key.decode().splitlines() if "-----" not in line]
    assert "Auth for user so-test succeeded" in caplog.text
    assert not any(line in caplog.text for line in lines)
    assert "SECRET" not in repr(ssh.Credentials(private_key=b"SECRET", known_hosts=b"h"))


def test_attach_command_is_rebuilt_from_the_machine_id() -> None:
    host = ssh.Host("10.0.0.5", 2222)

    argv = ssh.attach_command(ssh.machine_id("dev", host))

    assert argv == ["ssh", "-t", "-p", "2222", "dev@10.0.0.5", "tmux"]
    assert ssh.attach_command("ssh://dev@[fd00::1]:22")[4] == "dev@fd00::1"
    with pytest.raises(ValueError, match="not an SSH machine id"):
        ssh.attach_command("/var/lib/sprite-orchestrator/local/default/kite/kite-1")


async def _until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.05)


async def test_the_secrets_are_read_again_at_each_connection(machines: sshd.Inventory) -> None:
    """A Secret created (or rotated) later is used without building a new provider."""
    given: list[ssh.Credentials] = []

    async def source() -> ssh.Credentials:
        if not given:
            raise ProviderError("Secret ssh-key not found", reason="SecretNotFound")
        return given[-1]

    hosts = [ssh.Host(h.address, h.port) for h in machines.hosts]
    provider = ssh.SSHProvider(
        namespace="default", pool="kite", hosts=hosts, user=machines.user, credentials=source
    )
    with pytest.raises(ProviderError) as missing:
        await provider.create("kite-1")
    given.append(
        ssh.Credentials(private_key=machines.private_key, known_hosts=machines.known_hosts())
    )
    await asyncio.sleep(ssh._BACKOFF[0])

    assert missing.value.reason == "SecretNotFound"
    assert (await provider.create("kite-1")).name == "kite-1"
    await provider.close()


async def test_a_connection_dropped_mid_exec_is_HostUnreachable_and_the_next_exec_reconnects(
    make: Make, machines: sshd.Inventory
) -> None:
    provider = make()
    await provider.create("kite-1")
    first = machines.hosts[0]
    running = asyncio.create_task(
        provider.exec("kite-1", ["bash", "-c", "echo $$ > started; sleep 30"], timeout=60)
    )
    await _until(lambda: (first.home / "started").exists())

    assert first.drop_connections() > 0
    with pytest.raises(ProviderError) as dropped:
        await asyncio.wait_for(running, 30)

    assert dropped.value.reason == "HostUnreachable"
    assert f"127.0.0.1:{first.port}" in str(dropped.value)
    assert (await provider.exec("kite-1", ["echo", "again"])).stdout == b"again\n"
    assert first.accepted_logins() == 2


async def test_a_command_given_up_on_is_stopped_on_the_machine_but_not_its_tmux_server(
    make: Make, machines: sshd.Inventory
) -> None:
    provider = make()
    await provider.create("kite-1")
    first = machines.hosts[0]
    script = (
        "tmux new-session -d -s kept 'sleep 300'; trap '' TERM HUP; "
        "setsid sleep 61 & echo $! > child; sleep 62 & wait"
    )

    with pytest.raises(TimeoutError):  # a deadline gives up on it; it ignores TERM
        await asyncio.wait_for(provider.exec("kite-1", ["bash", "-c", script], timeout=60), 2)

    child = int((first.home / "child").read_text())
    await _until(lambda: not Path(f"/proc/{child}").exists(), timeout=30)  # even out of its group
    assert first.tmux("has-session", "-t", "kept").returncode == 0  # the worker's session stays
    first.tmux("kill-server")
