"""The Local provider: worker machines as directories on the operator's own host.

Each machine is `root/<name>/` with `home/` as its HOME and its own tmux server, so two
workers never see each other's sessions: every command runs with `TMUX_TMPDIR` pointing to
a short per-machine directory (unix socket paths are limited to ~107 bytes, and the machine
directories of tests are long). Commands run as subprocesses without a shell, in a clean
environment, and a timeout kills their whole process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import hashlib
import os
import re
import shutil
import signal
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sprite_orchestrator.providers.base import (
    ExecResult,
    ExecTimeout,
    Machine,
    MachineNotFound,
    ProviderError,
)

# A Kubernetes DNS label: the Worker's name, also a safe directory name.
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
# Unix sockets live here, not under root: see the module docstring.
_SOCKET_ROOT = Path("/tmp")
# How long destroy() lets the panes' processes run their exit hooks before killing them.
_EXIT_GRACE_SECONDS = 3.0


class LocalProvider:
    """Machines under `root`, each a HOME directory with its own tmux server."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root).absolute()

    @property
    def root(self) -> Path:
        return self._root

    async def create(self, name: str) -> Machine:
        home = self._home(name)
        home.mkdir(parents=True, exist_ok=True)
        self._tmux_tmpdir(name).mkdir(mode=0o700, exist_ok=True)
        return self._machine(name)

    async def destroy(self, name: str) -> None:
        """Kill the machine's tmux server and its panes' processes, then remove its files."""
        machine_dir = self._dir(name)
        tmpdir = self._tmux_tmpdir(name)
        if self._socket(name).exists():
            pids = await self._pane_pids(name)
            await self._tmux(name, "kill-server")
            await _reap(pids)
        await asyncio.to_thread(_rmtree, tmpdir)
        await asyncio.to_thread(_rmtree, machine_dir)

    async def list(self) -> Sequence[Machine]:
        if not self._root.is_dir():
            return []
        names = sorted(p.name for p in self._root.iterdir() if _NAME.fullmatch(p.name))
        return [self._machine(n) for n in names if (self._root / n / "home").is_dir()]

    async def exec(
        self,
        name: str,
        argv: Sequence[str],
        *,
        stdin: bytes = b"",
        timeout: float = 60.0,  # noqa: ASYNC109 (the Provider Protocol's parameter)
        env: Mapping[str, str] | None = None,
    ) -> ExecResult:
        home = self._home(name)
        if not home.is_dir():
            raise MachineNotFound(f"local machine {name!r} does not exist under {self._root}")
        if not argv:
            raise ProviderError("exec needs a command", reason="InvalidCommand")
        self._tmux_tmpdir(name).mkdir(mode=0o700, exist_ok=True)
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=home,
                env=self._environment(name, env),
                start_new_session=True,  # its own process group, so a timeout kills it all
            )
        except FileNotFoundError:
            return ExecResult(127, b"", f"{argv[0]}: command not found\n".encode())
        except PermissionError:
            return ExecResult(126, b"", f"{argv[0]}: permission denied\n".encode())
        return await _communicate(proc, stdin, timeout, what=f"{argv[0]} on {name}")

    async def close(self) -> None:
        """Nothing to release: machines are directories and tmux servers that outlive us."""

    def _dir(self, name: str) -> Path:
        if not _NAME.fullmatch(name):
            raise ProviderError(f"invalid machine name {name!r}", reason="InvalidMachineName")
        return self._root / name

    def _home(self, name: str) -> Path:
        return self._dir(name) / "home"

    def _tmux_tmpdir(self, name: str) -> Path:
        digest = hashlib.sha256(str(self._dir(name)).encode()).hexdigest()[:12]
        return _SOCKET_ROOT / f"so-{digest}"

    def _socket(self, name: str) -> Path:
        """Where tmux puts the default socket for `TMUX_TMPDIR` (tmux-UID/default)."""
        return self._tmux_tmpdir(name) / f"tmux-{os.getuid()}" / "default"

    def _machine(self, name: str) -> Machine:
        return Machine(
            name=name,
            id=str(self._dir(name)),
            attach=("tmux", "-S", str(self._socket(name))),
        )

    def _environment(self, name: str, extra: Mapping[str, str] | None) -> dict[str, str]:
        """A clean environment: nothing of the operator's leaks in but PATH."""
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "HOME": str(self._home(name)),
            "USER": _user(),
            "LOGNAME": _user(),
            "SHELL": "/bin/bash",
            "TERM": "xterm-256color",
            "TMUX_TMPDIR": str(self._tmux_tmpdir(name)),
        }
        env.update(extra or {})
        return env

    async def _pane_pids(self, name: str) -> Sequence[int]:
        out = await self._tmux(name, "list-panes", "-a", "-F", "#{pane_pid}")
        return [int(word) for word in out.split() if word.isdigit()]

    async def _tmux(self, name: str, *args: str) -> str:
        """tmux against the machine's server by its socket (its files may be gone already).

        Failures (no server) are not errors here: the caller is cleaning up.
        """
        argv = ["tmux", "-S", str(self._socket(name)), *args]
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                env=self._environment(name, None),
                start_new_session=True,
            )
            result = await _communicate(proc, None, 10.0, what=f"tmux {args[0]} on {name}")
        except (OSError, ProviderError):
            return ""
        return result.stdout.decode(errors="replace") if result.ok else ""


async def _communicate(
    proc: asyncio.subprocess.Process, stdin: bytes | None, seconds: float, *, what: str
) -> ExecResult:
    """Feed stdin, collect output; past `seconds` (or on cancel) kill the process group."""
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(stdin), seconds)
    except TimeoutError:
        await _kill_group(proc)
        raise ExecTimeout(f"{what} ran longer than {seconds:g}s and was killed") from None
    except BaseException:
        await _kill_group(proc)
        raise
    assert proc.returncode is not None
    return ExecResult(proc.returncode, stdout, stderr)


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        await proc.wait()


async def _reap(pids: Sequence[int]) -> None:
    """Give the panes' processes (tmux sent them SIGHUP) time to exit, then kill their groups."""
    deadline = time.monotonic() + _EXIT_GRACE_SECONDS
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        alive = [pid for pid in alive if _alive(pid)]
    for pid in alive:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Whether `pid` still runs; a zombie does not (tmux, its parent, is gone: init reaps it)."""
    if Path("/proc/self").exists():
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _rmtree(path: Path) -> None:
    """Remove a tree even if it holds read-only directories; retry while exit hooks write."""
    root = os.path.abspath(path)

    def onerror(func: Callable[..., Any], failed: str, _exc: object) -> None:
        _make_writable(root, func, failed)

    for attempt in range(5):
        if not path.exists() and not path.is_symlink():
            return
        try:
            shutil.rmtree(path, onerror=onerror)
            return
        except OSError:
            if attempt == 4:
                raise
            time.sleep(0.1)


def _make_writable(root: str, func: Callable[..., Any], path: str) -> None:
    """Make what blocks a removal inside `root` writable, and retry it.

    Never above `root`: the tree may sit directly in /tmp, whose mode is everyone's.
    """
    parent = os.path.dirname(os.path.abspath(path))
    with contextlib.suppress(OSError):
        if os.path.commonpath([root, parent]) == root:
            os.chmod(parent, stat.S_IRWXU)
        os.chmod(path, stat.S_IRWXU)
    with contextlib.suppress(FileNotFoundError):
        func(path)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
