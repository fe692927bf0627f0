"""Real workers for the worker tests: a git repo, Local machines, the demo agent in tmux."""

from __future__ import annotations

from pathlib import Path

import pytest

from sprite_orchestrator.providers.local import LocalProvider
from sprite_orchestrator.worker import provisioning
from tests.worker.workerkit import SECRET, Worker, make_repo


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "origin")


@pytest.fixture
async def machine(provider: LocalProvider) -> str:
    await provider.create("demo-1")
    return "demo-1"


@pytest.fixture
def plan(git_repo: Path) -> provisioning.ProvisionPlan:
    return provisioning.ProvisionPlan(
        repo_url=str(git_repo),
        repo_dir="demo",
        session="demo-dev",
        agent_command=provisioning.DEMO_AGENT_COMMAND,
        agent_env={"ANTHROPIC_API_KEY": SECRET, "DEMO_GREETING": "it's $HOME `x`"},
        permission_mode="acceptEdits",
    )


@pytest.fixture
async def worker(provider: LocalProvider, machine: str, plan: provisioning.ProvisionPlan) -> Worker:
    """A provisioned worker whose demo agent is waiting for a prompt."""
    await provisioning.provision(provider, machine, plan)
    attach = (await provider.create(machine)).attach
    ready = Worker(provider, machine, plan.session, tuple(attach))
    await ready.wait_window("agent:waiting")
    return ready
