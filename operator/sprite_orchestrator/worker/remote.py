"""How worker code touches a machine: our constant scripts, validated names, files on stdin.

Every remote action is `bash -c SCRIPT SCRIPT-NAME ARGS...` where SCRIPT is one of the
package's assets and ARGS are names validated here; anything else (user data, secrets)
travels on stdin. This module holds those three guarantees in one place.
"""

from __future__ import annotations

import functools
import importlib.resources
import io
import re
import tarfile
import time
from collections.abc import Mapping

from sprite_orchestrator.providers.base import ExecResult, Provider

_PACKAGE = "sprite_orchestrator.worker"

# Where every worker keeps its state, relative to HOME.
STATE_DIR = ".sprite-orchestrator"

_TAIL_BYTES = 4096

# Names that may appear in an argv: each pattern is the whole grammar of its kind.
_SESSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
_DIR_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_MARKER = re.compile(r"[a-z0-9][a-z0-9.-]{0,252}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,255}")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
# Claude Code's --session-id takes a UUID; the lowercase form is what it writes back.
_SESSION_ID = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")


class WorkerError(Exception):
    """A worker could not do what was asked; `reason` is a CamelCase condition reason."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@functools.cache
def asset(name: str) -> str:
    """The text of one of the package's worker assets (scripts run on machines)."""
    return (importlib.resources.files(_PACKAGE) / "assets" / name).read_text("utf-8")


async def run(
    provider: Provider,
    machine: str,
    script: str,
    *args: str,
    stdin: bytes = b"",
    timeout: float = 60.0,  # noqa: ASYNC109 (passed on to Provider.exec)
) -> ExecResult:
    """Run the asset `script` with bash on the machine; `args` must be validated names."""
    argv = ["bash", "-c", asset(script), script, *args]
    return await provider.exec(machine, argv, stdin=stdin, timeout=timeout)


def session_name(value: str) -> str:
    """A tmux session name: no `.` or `:`, which tmux target syntax would split on."""
    return _check("tmux session name", value, _SESSION)


def dir_name(value: str) -> str:
    """One path component under HOME (the repo directory)."""
    return _check("directory name", value, _DIR_NAME)


def marker_name(value: str) -> str:
    """A per-task delivery marker: a Kubernetes object name."""
    return _check("marker name", value, _MARKER)


def env_name(value: str) -> str:
    return _check("environment variable name", value, _ENV_NAME)


def word(value: str) -> str:
    """A plain identifier such as a permission mode."""
    return _check("word", value, _WORD)


def session_id(value: str) -> str:
    """An agent session id: a UUID in its lowercase text form."""
    return _check("session id", value, _SESSION_ID)


def relative_path(value: str) -> str:
    """A path inside the repo: plain components, no `..`, not absolute."""
    parts = value.split("/")
    if not value or len(value) > 255 or not all(_DIR_NAME.fullmatch(p) for p in parts):
        raise ValueError(f"invalid relative path {value!r}")
    return value


def bundle(files: Mapping[str, tuple[bytes, int]]) -> bytes:
    """A tar archive of files (path relative to HOME → (content, mode)) to send on stdin.

    The scripts unpack it to a staging directory first, so a truncated stdin fails before
    any file is replaced, then move each file into place with one rename.
    """
    buffer = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for path, (content, mode) in sorted(files.items()):
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mode = mode
            info.mtime = now
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def fields(output: bytes) -> dict[str, str]:
    """The `key=value` lines a script prints for us (first occurrence wins)."""
    result: dict[str, str] = {}
    for line in output.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.isidentifier():
            result.setdefault(key, value)
    return result


def tail(data: bytes, limit: int = _TAIL_BYTES) -> str:
    """The last whole lines of `data` that fit in `limit` bytes, for error messages."""
    if len(data) > limit:
        data = data[-limit:]
        newline = data.find(b"\n")
        if 0 <= newline < len(data) - 1:
            data = data[newline + 1 :]
    return data.decode("utf-8", "replace")


def _check(kind: str, value: str, pattern: re.Pattern[str]) -> str:
    if not pattern.fullmatch(value):
        raise ValueError(f"invalid {kind} {value!r}")
    return value
