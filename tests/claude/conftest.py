"""The real Claude Code CLI on Local workers, talking to the scripted API of tests.fakes.

Every test here runs the `claude` binary (npm `@anthropic-ai/claude-code`, pinned in
.ci/run) in a worker's tmux window, provisioned by `worker.provisioning` exactly as the
operator does it. Without `claude` on PATH they skip, saying how to install it.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest

from sprite_orchestrator.providers.local import LocalProvider
from sprite_orchestrator.worker import delivery, provisioning
from tests.fakes import anthropic
from tests.worker.workerkit import Worker, eventually, make_repo

# Shaped like a real key and a real OAuth token (`claude setup-token`), only ever sent to the
# fake API.
FAKE_KEY = "sk-ant-api03-FAKE-claude-tests-0123456789-abcdefghijklmnopqrstuvwxyz-AA"
FAKE_TOKEN = "sk-ant-oat01-FAKE-claude-tests-9876543210-zyxwvutsrqponmlkjihgfedcba-AA"
# Long enough for Claude's slowest step here (its first start on a cold page cache, under
# the load of other suites on 2 cores), short enough to fail a hung test quickly.
STEP_TIMEOUT = 30.0
CLAUDE_VERSION = "2.1.332"


@pytest.fixture(autouse=True)
def _claude_installed() -> None:
    if shutil.which("claude") is None:
        pytest.skip(
            "the Claude Code CLI is not on PATH: "
            f"npm install -g @anthropic-ai/claude-code@{CLAUDE_VERSION} (as .ci/run does)"
        )


@pytest.fixture
async def api() -> AsyncIterator[anthropic.FakeAnthropic]:
    async with anthropic.FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "origin")


def claude_plan(
    repo: Path,
    api: anthropic.FakeAnthropic,
    env: Mapping[str, str] | None = None,
    *,
    auth: Mapping[str, str] | None = None,
) -> provisioning.ProvisionPlan:
    """What a pool with `agent.command: [claude]` and an auth Secret (`auth`, an API key by
    default) provisions."""
    secret = {"ANTHROPIC_API_KEY": FAKE_KEY} if auth is None else auth
    return provisioning.ProvisionPlan(
        repo_url=str(repo),
        repo_dir="kite",
        session="kite-dev",
        agent_command=("claude",),
        agent_env={**secret, "ANTHROPIC_BASE_URL": api.url, **(env or {})},
        permission_mode="acceptEdits",
    )


async def start_worker(
    provider: LocalProvider, plan: provisioning.ProvisionPlan, name: str = "kite-1"
) -> Worker:
    """A machine provisioned by the operator's code, its Claude waiting at the prompt."""
    machine = await provider.create(name)
    await provisioning.provision(provider, name, plan)
    worker = Worker(provider, name, plan.session, tuple(machine.attach))
    await worker.wait_window("agent:waiting", timeout=STEP_TIMEOUT)
    return worker


@pytest.fixture
async def claude(provider: LocalProvider, repo: Path, api: anthropic.FakeAnthropic) -> Worker:
    """A fresh worker running the real Claude Code against the fake API."""
    return await start_worker(provider, claude_plan(repo, api))


def screen(worker: Worker) -> str:
    """What `tmux attach` shows in window 1 now."""
    return worker.tmux("capture-pane", "-p", "-t", f"={worker.session}:1")


def scrollback(worker: Worker) -> str:
    """Everything window 1 has shown, joined lines included."""
    return worker.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", f"={worker.session}:1")


async def deliver(worker: Worker, marker: str, prompt: str) -> delivery.Delivery:
    return await delivery.deliver(
        worker.provider, worker.name, session=worker.session, marker=marker, prompt=prompt
    )


def processes() -> str:
    """Every process's argv on this machine, as `ps -eo args` shows them."""
    return subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


async def approve(worker: Worker) -> None:
    """Press Enter on the dialog ("1. Yes" is selected) until it takes, as a person would:
    Claude ignores keys for a moment after a dialog appears (an Enter 0 s after it was drawn
    was lost; 0.3 s after, it took), against approving by accident."""
    for _ in range(10):
        worker.tmux("send-keys", "-t", f"={worker.session}:1", "Enter")

        async def closed() -> bool:
            return "Do you want to proceed?" not in screen(worker)

        with contextlib.suppress(AssertionError):
            await eventually(closed, timeout=1.0, what="the dialog to close")
            return
    raise AssertionError("the permission dialog never took the Enter")
