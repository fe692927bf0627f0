"""The demo behind `make run`: a small repo, a pool, one task followed to its end."""

from __future__ import annotations

import contextlib
import os
import pathlib
import subprocess
from typing import Any

from sprite_orchestrator import API_VERSION
from sprite_orchestrator.cli.common import Target, console
from sprite_orchestrator.cli.dispatch import follow
from sprite_orchestrator.kube import Conflict
from sprite_orchestrator.worker import provisioning

POOL = "demo"
DEMO_AGENT = list(provisioning.DEMO_AGENT_COMMAND)  # speaks the protocol like Claude's TUI
PROMPT = "Add a line to NOTES.md saying hello from the demo agent, then commit it."

SETUP_SCRIPT = """#!/bin/bash
# scripts/dev-setup.sh: run once on every new worker, as the seed's repos do.
set -e
echo "Setting up the demo environment..."
git --version
echo "✅ Ready"
"""


def make_repo(root: pathlib.Path) -> pathlib.Path:
    """A small git repo with a dev-setup script; made once, reused after."""
    repo = root / "demo-repo"
    if (repo / ".git").is_dir():
        return repo
    (repo / "scripts").mkdir(parents=True, exist_ok=True)
    (repo / "README.md").write_text("# demo\n\nA repo for sprite-orchestrator's demo pool.\n")
    setup = repo / "scripts" / "dev-setup.sh"
    setup.write_text(SETUP_SCRIPT)
    setup.chmod(0o755)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "demo",
        "GIT_AUTHOR_EMAIL": "demo@localhost",
        "GIT_COMMITTER_NAME": "demo",
        "GIT_COMMITTER_EMAIL": "demo@localhost",
    }
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "demo repo"],
    ):
        subprocess.run(argv, cwd=repo, env=env, check=True)
    return repo


def pool_body(repo: pathlib.Path, *, claude: bool) -> dict[str, Any]:
    """The demo WorkerPool: Claude Code when credentials are at hand, else the demo agent."""
    agent: dict[str, Any] = {"command": DEMO_AGENT}
    if claude:
        agent = {"command": ["claude"], "authSecretRef": {"name": "claude-auth"}}
    return {
        "apiVersion": API_VERSION,
        "kind": "WorkerPool",
        "metadata": {"name": POOL, "namespace": "default"},
        "spec": {
            "repo": {"url": str(repo)},
            "agent": agent,
            "scaling": {"minIdle": 1, "maxWorkers": 3},
            "pollIntervalSeconds": 1,
        },
    }


async def run(target: Target, root: pathlib.Path) -> int:
    """Create the demo pool and dispatch one task; returns the task's exit code."""
    repo = make_repo(root)
    claude = bool(os.environ.get("ANTHROPIC_API_KEY"))
    if claude:
        await _auth_secret(target)
    with contextlib.suppress(Conflict):
        await target.kube.create("workerpools", target.namespace, pool_body(repo, claude=claude))
    agent = "Claude Code" if claude else "the demo agent (no ANTHROPIC_API_KEY set)"
    console.print(f"pool {POOL}: repo {repo}, agent: {agent}")
    body = {
        "apiVersion": API_VERSION,
        "kind": "AgentTask",
        "metadata": {"generateName": f"{POOL}-", "namespace": target.namespace},
        "spec": {"pool": POOL, "prompt": PROMPT},
    }
    created = await target.kube.create("agenttasks", target.namespace, body)
    name = created["metadata"]["name"]
    console.print(f"agenttask/{name} dispatched: {PROMPT!r}")
    return await follow(target, name, POOL, wait=True)


async def _auth_secret(target: Target) -> None:
    """Claude's key goes into a Secret, the way a cluster user would give it."""
    key = os.environ["ANTHROPIC_API_KEY"].encode()
    await target.kube.create_secret(target.namespace, "claude-auth", {"ANTHROPIC_API_KEY": key})
