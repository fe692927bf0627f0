"""The Local provider: machines as directories, each with its own tmux server."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sprite_orchestrator.providers.base import (
    ExecTimeout,
    Machine,
    MachineNotFound,
    ProviderError,
)
from sprite_orchestrator.providers.local import LocalProvider


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[LocalProvider]:
    provider = LocalProvider(tmp_path / "a-rather-long-directory-name-as-tests-have" / "machines")
    yield provider
    for machine in await provider.list():
        await provider.destroy(machine.name)


async def test_create_is_idempotent_and_list_finds_machines(local: LocalProvider) -> None:
    first = await local.create("kite-1")
    again = await local.create("kite-1")
    await local.create("kite-2")

    assert first == again
    assert first.id == str(local.root / "kite-1")
    assert [m.name for m in await local.list()] == ["kite-1", "kite-2"]


async def test_exec_runs_in_a_clean_environment_at_home(
    local: LocalProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPERATOR_SECRET", "must not leak")
    monkeypatch.setenv("TMUX", "/tmp/the-operators-own-tmux,1,0")
    await local.create("kite-1")

    result = await local.exec("kite-1", ["env"], env={"EXTRA": "yes"})
    pwd = await local.exec("kite-1", ["pwd"])

    env = dict(line.split("=", 1) for line in result.stdout.decode().splitlines())
    home = str(local.root / "kite-1" / "home")
    assert set(env) == {
        "PATH", "LANG", "LC_ALL", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TMUX_TMPDIR",
        "EXTRA",
    }  # fmt: skip
    assert (env["HOME"], env["LANG"], env["TERM"], env["EXTRA"]) == (
        home,
        "C.UTF-8",
        "xterm-256color",
        "yes",
    )
    assert pwd.stdout.decode().strip() == home
    assert len(env["TMUX_TMPDIR"]) < 30


async def test_exec_reports_exit_code_and_both_streams(local: LocalProvider) -> None:
    await local.create("kite-1")
    result = await local.exec(
        "kite-1", ["bash", "-c", 'cat; echo "to stderr" >&2; exit 7'], stdin=b"in\n"
    )
    assert (result.exit_code, result.stdout, result.stderr, result.ok) == (
        7,
        b"in\n",
        b"to stderr\n",
        False,
    )
    missing = await local.exec("kite-1", ["no-such-command-here"])
    assert missing.exit_code == 127


async def test_a_timeout_kills_the_whole_process_group(local: LocalProvider) -> None:
    await local.create("kite-1")
    pid_file = local.root / "kite-1" / "home" / "child.pid"
    script = "sleep 30 & echo $! > child.pid; wait"
    started = time.monotonic()

    with pytest.raises(ExecTimeout):
        await local.exec("kite-1", ["bash", "-c", script], timeout=0.5)

    assert time.monotonic() - started < 5
    child = int(pid_file.read_text())
    await asyncio.sleep(0.05)
    assert not Path(f"/proc/{child}").exists() or _zombie(child)


def _zombie(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"


async def test_a_missing_machine_raises(local: LocalProvider) -> None:
    with pytest.raises(MachineNotFound):
        await local.exec("kite-9", ["true"])


@pytest.mark.parametrize("name", ["Kite-1", "../x", "kite_1", "", "-kite", "a" * 64])
async def test_invalid_names_are_refused(local: LocalProvider, name: str) -> None:
    with pytest.raises(ProviderError):
        await local.create(name)


async def test_each_machine_has_its_own_tmux_server(local: LocalProvider) -> None:
    one, two = await local.create("kite-1"), await local.create("kite-2")
    await local.exec("kite-1", ["tmux", "new-session", "-d", "-s", "kite-dev"])
    await local.exec("kite-2", ["tmux", "new-session", "-d", "-s", "other-dev"])

    assert _sessions(one) == ["kite-dev"]
    assert _sessions(two) == ["other-dev"]
    assert len(one.attach[-1]) < 107  # a unix socket path must fit


def _sessions(machine: Machine) -> list[str]:
    """What `orchestrator attach` would see, through the machine's attach argv."""
    argv = [*machine.attach, "list-sessions", "-F", "#S"]
    return subprocess.run(argv, capture_output=True, text=True).stdout.split()


async def test_destroy_kills_the_tmux_server_and_removes_everything(local: LocalProvider) -> None:
    machine = await local.create("kite-1")
    await local.exec("kite-1", ["tmux", "new-session", "-d", "-s", "kite-dev", "sleep 600"])
    panes = await local.exec("kite-1", ["tmux", "list-panes", "-a", "-F", "#{pane_pid}"])
    pane_pid = int(panes.stdout)

    await local.destroy("kite-1")
    await local.destroy("kite-1")  # idempotent

    assert _sessions(machine) == []
    assert not Path(machine.id).exists()
    assert not Path(machine.attach[-1]).exists()
    assert not Path(f"/proc/{pane_pid}").exists() or _zombie(pane_pid)
    assert await local.list() == []
    with pytest.raises(MachineNotFound):
        await local.exec("kite-1", ["true"])


async def test_destroy_finds_the_server_of_a_machine_whose_files_are_gone(
    local: LocalProvider,
) -> None:
    machine = await local.create("kite-1")
    await local.exec("kite-1", ["tmux", "new-session", "-d", "-s", "kite-dev"])
    shutil.rmtree(machine.id)

    await local.destroy("kite-1")

    assert _sessions(machine) == []


async def test_destroy_removes_read_only_trees(local: LocalProvider) -> None:
    machine = await local.create("kite-1")
    await local.exec(
        "kite-1", ["bash", "-c", "mkdir -p ro/deep && touch ro/deep/f && chmod -R a-w ro"]
    )
    await local.destroy("kite-1")
    assert not Path(machine.id).exists()


@pytest.fixture(scope="module")
def cat_machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProvider]:
    provider = LocalProvider(tmp_path_factory.mktemp("cat") / "machines")
    asyncio.run(provider.create("cat-1"))
    yield provider
    asyncio.run(provider.destroy("cat-1"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunk=st.binary(max_size=512), repeat=st.integers(min_value=1, max_value=600))
def test_stdin_round_trips_any_bytes(cat_machine: LocalProvider, chunk: bytes, repeat: int) -> None:
    data = chunk * repeat
    result = asyncio.run(cat_machine.exec("cat-1", ["cat"], stdin=data))
    assert (result.exit_code, result.stdout) == (0, data)


async def test_the_operators_path_is_used(local: LocalProvider) -> None:
    await local.create("kite-1")
    result = await local.exec("kite-1", ["bash", "-c", 'printf %s "$PATH"'])
    assert result.stdout.decode() == os.environ["PATH"]


def test_removing_a_tree_never_changes_the_mode_of_its_parent(tmp_path: Path) -> None:
    from sprite_orchestrator.providers import local

    shared = tmp_path / "shared"  # stands for /tmp: everyone's, sticky
    tree = shared / "so-abc"
    (tree / "locked").mkdir(parents=True)
    (tree / "locked" / "f").write_text("x")
    (tree / "locked").chmod(0o500)
    shared.chmod(0o1777)

    local._make_writable(str(tree), lambda _: None, str(tree))  # rmtree failing on the root
    local._rmtree(tree)

    assert not tree.exists()
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
