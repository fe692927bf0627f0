"""Helpers of the worker tests: a repo maker, a waiting helper, a view of a worker."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sprite_orchestrator.providers.local import LocalProvider
from sprite_orchestrator.worker import polling

T = TypeVar("T")

SECRET = "sk-ant-api03-TOPSECRET-9f8e7d6c5b4a39281706"
SETUP_SCRIPT = """#!/bin/bash
set -e
echo "setting up the demo repo"
echo run >> .dev-setup-runs
echo "ready"
"""


async def eventually(
    check: Callable[[], Awaitable[T | None]], *, timeout: float = 10.0, what: str = "condition"
) -> T:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last {value!r}")
        await asyncio.sleep(0.03)


def make_repo(path: Path, setup_script: str | None = SETUP_SCRIPT) -> Path:
    """A small git repo with a scripts/dev-setup.sh, as the seed expects."""
    path.mkdir(parents=True)
    (path / "README.md").write_text("demo\n")
    if setup_script is not None:
        (path / "scripts").mkdir()
        (path / "scripts" / "dev-setup.sh").write_text(setup_script)
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "initial"], check=True)
    return path


@dataclasses.dataclass
class Worker:
    """A provisioned machine, and what a user would look at on it."""

    provider: LocalProvider
    name: str
    session: str
    attach: tuple[str, ...]  # Machine.attach: tmux against this machine's own server

    @property
    def home(self) -> Path:
        return self.provider.root / self.name / "home"

    @property
    def state(self) -> Path:
        return self.home / ".sprite-orchestrator"

    def tmux(self, *args: str) -> str:
        """Run tmux against the machine's server, as `orchestrator attach` would."""
        result = subprocess.run([*self.attach, *args], capture_output=True, text=True, check=False)
        return result.stdout

    def windows(self) -> dict[int, str]:
        out = self.tmux("list-windows", "-t", f"={self.session}", "-F", "#{window_index} #W")
        return {int(i): n for i, n in (line.split(" ", 1) for line in out.splitlines())}

    def prompts(self) -> list[Path]:
        folder = self.state / "demo-agent" / "prompts"
        return sorted(folder.glob("*.txt"), key=lambda p: int(p.stem)) if folder.is_dir() else []

    async def poll(self) -> polling.Observation:
        return await polling.poll(self.provider, self.name, session=self.session)

    async def wait_window(self, name: str, timeout: float = 10.0) -> polling.Observation:
        async def check() -> polling.Observation | None:
            seen = await self.poll()
            return seen if seen.agent_window == name else None

        return await eventually(check, timeout=timeout, what=f"window 1 named {name}")
