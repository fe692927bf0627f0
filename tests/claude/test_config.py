"""Provisioning's Claude Code configuration, proven on the real binary: no dialog, ever.

The keys that pre-accept Claude's first-run dialogs change between releases; these tests fail
when they stop working, and show each key is needed (without it, its dialog is on screen).
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sprite_orchestrator.providers.local import LocalProvider
from sprite_orchestrator.worker import delivery
from tests.claude.conftest import FAKE_KEY, STEP_TIMEOUT, claude_plan, screen, start_worker
from tests.fakes import anthropic
from tests.worker.workerkit import Worker, eventually

# What Claude Code 2.1.332 shows for each dialog that provisioning pre-accepts.
DIALOGS = {
    "onboarding": "Choose the text style that looks best with your terminal",
    "trust": "Is this a project you created or one you trust?",
    "api key": "Detected a custom API key in your environment",
}


async def at_the_prompt(worker: Worker) -> str:
    """The screen once Claude's input prompt is drawn (its footer shows the mode)."""

    async def drawn() -> str | None:
        shown = screen(worker)
        return shown if "accept edits on" in shown else None

    return await eventually(drawn, timeout=STEP_TIMEOUT, what="Claude's input prompt")


async def test_a_fresh_worker_reaches_the_prompt_with_no_dialog(claude: Worker) -> None:
    shown = await at_the_prompt(claude)
    seen = await claude.poll()

    assert "Claude Code v" in shown and "\n❯" in shown  # the input prompt, empty
    assert [text for text in DIALOGS.values() if text in shown] == []
    assert seen.windows == {0: "shell", 1: "agent:waiting"}
    assert seen.status and (seen.status.state, seen.status.event) == ("waiting", "SessionStart")
    assert seen.status.session_id and seen.status.transcript_path
    assert seen.status.transcript_path.startswith(f"{claude.home}/.claude/projects/")


async def test_the_agent_runs_in_the_repo_with_our_flags(claude: Worker) -> None:
    seen = await claude.poll()
    argv = Path(f"/proc/{seen.pane_pid}/cmdline").read_bytes().split(b"\0")[:-1]
    environ = dict(
        line.split(b"=", 1)
        for line in Path(f"/proc/{seen.pane_pid}/environ").read_bytes().split(b"\0")
        if b"=" in line
    )

    assert seen.status and seen.status.session_id  # the SessionStart hook's
    chosen = seen.status.session_id.encode()
    assert argv == [b"claude", b"--permission-mode", b"acceptEdits", b"--session-id", chosen]
    assert not (claude.state / "agent" / "session-id").exists()  # used for one launch only
    assert os.readlink(f"/proc/{seen.pane_pid}/cwd") == str(claude.home / "kite")
    assert environ[b"ANTHROPIC_API_KEY"] == FAKE_KEY.encode()  # from the 0600 env file
    quiet_by_default = (
        b"DISABLE_AUTOUPDATER",
        b"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
        b"CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL",
    )
    for quiet in quiet_by_default:
        assert environ[quiet] == b"1"


async def stop_agent(worker: Worker) -> None:
    """End the agent in window 1 and wait until its process is gone."""
    seen = await worker.poll()
    assert seen.pane_pid
    os.kill(seen.pane_pid, signal.SIGTERM)

    async def gone() -> bool:
        return (await worker.poll()).pane_dead

    await eventually(gone, timeout=STEP_TIMEOUT, what="the agent to exit")


def _without(key: str) -> Callable[[dict[str, Any]], None]:
    def drop(state: dict[str, Any]) -> None:
        if key == "onboarding":
            del state["hasCompletedOnboarding"]
        elif key == "trust":
            for project in state["projects"].values():
                del project["hasTrustDialogAccepted"]
        else:
            del state["customApiKeyResponses"]

    return drop


@pytest.mark.parametrize("key", list(DIALOGS))
async def test_without_each_key_its_dialog_blocks_the_agent(
    provider: LocalProvider, repo: Path, api: anthropic.FakeAnthropic, key: str
) -> None:
    worker = await start_worker(provider, claude_plan(repo, api))
    await stop_agent(worker)  # a running Claude rewrites ~/.claude.json: it would undo the edit
    config = worker.home / ".claude.json"
    state = json.loads(config.read_text())
    _without(key)(state)
    config.write_text(json.dumps(state))

    await delivery.restart_agent(provider, worker.name, session=worker.session)

    async def dialog() -> str | None:
        shown = screen(worker)
        return shown if DIALOGS[key] in shown else None

    await eventually(dialog, timeout=STEP_TIMEOUT, what=f"the {key} dialog")
    seen = await worker.poll()
    assert seen.status and seen.status.state == "starting"  # no SessionStart: never Ready
    assert seen.agent_window == "agent"
