"""A fresh Claude session per task, named by the operator; the API key or token kept secret."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from sprite_orchestrator.providers.local import LocalProvider
from sprite_orchestrator.worker import delivery, provisioning
from tests.claude.conftest import (
    FAKE_KEY,
    FAKE_TOKEN,
    STEP_TIMEOUT,
    claude_plan,
    deliver,
    processes,
    scrollback,
    start_worker,
)
from tests.claude.test_config import DIALOGS, at_the_prompt
from tests.fakes import anthropic
from tests.worker.workerkit import Worker


async def test_each_task_gets_the_session_the_operator_chose(
    claude: Worker, api: anthropic.FakeAnthropic
) -> None:
    first = await deliver(claude, "task-1", "first task")
    await claude.wait_window("agent:completed", timeout=STEP_TIMEOUT)
    chosen = str(uuid.uuid4())

    started = await delivery.restart_agent(
        claude.provider, claude.name, session=claude.session, session_id=chosen
    )
    fresh = await claude.wait_window("agent:waiting", timeout=STEP_TIMEOUT)
    second = await deliver(claude, "task-2", "second task")
    await claude.wait_window("agent:completed", timeout=STEP_TIMEOUT)

    project = re.sub("[^A-Za-z0-9]", "-", str(claude.home / "kite"))
    transcript = claude.home / ".claude" / "projects" / project / f"{chosen}.jsonl"
    assert started == chosen == second.session_id != first.session_id
    assert fresh.status and fresh.status.transcript_path == str(transcript)
    assert [turn.session_id for turn in api.turns] == [first.session_id, chosen]
    assert api.prompts == ["first task", "second task"]
    assert "first task" not in json.dumps(api.turns[1].body)  # a fresh context
    assert transcript.is_file()


async def test_the_first_task_gets_the_session_provisioning_chose(
    provider: LocalProvider, repo: Path, api: anthropic.FakeAnthropic
) -> None:
    chosen = str(uuid.uuid4())
    machine = await provider.create("kite-1")
    plan = claude_plan(repo, api)

    done = await provisioning.provision(provider, "kite-1", plan, session_id=chosen)
    again = await provisioning.provision(provider, "kite-1", plan)  # the agent is left alone
    worker = Worker(provider, "kite-1", plan.session, tuple(machine.attach))
    await worker.wait_window("agent:waiting", timeout=STEP_TIMEOUT)
    first = await deliver(worker, "task-1", "first task")
    await worker.wait_window("agent:completed", timeout=STEP_TIMEOUT)

    assert (done.session_id, "tmux" in done.ran, "tmux" in again.skipped) == (chosen, True, True)
    assert first.session_id == chosen == api.turns[0].session_id
    project = re.sub("[^A-Za-z0-9]", "-", str(worker.home / "kite"))
    assert (worker.home / ".claude" / "projects" / project / f"{chosen}.jsonl").is_file()


async def test_the_api_key_stays_in_its_file(claude: Worker, api: anthropic.FakeAnthropic) -> None:
    api.script(
        anthropic.tool_use("Write", {"file_path": "notes.md", "content": "fixed\n"}),
        anthropic.text("Wrote notes.md."),
    )
    await deliver(claude, "task-1", "write the notes")
    await claude.wait_window("agent:completed", timeout=STEP_TIMEOUT)  # tools ran, hooks fired

    assert (claude.home / "kite" / "notes.md").read_text() == "fixed\n"
    assert {turn.headers["x-api-key"] for turn in api.turns} == {FAKE_KEY}  # it did reach Claude
    assert FAKE_KEY not in processes()
    assert FAKE_KEY[-20:] not in scrollback(claude)  # Claude shows this much in a key dialog
    assert holders(claude.home, FAKE_KEY) == [".sprite-orchestrator/agent/env"]


async def test_an_oauth_token_needs_no_dialog_and_reaches_the_api_as_a_bearer_token(
    provider: LocalProvider, repo: Path, api: anthropic.FakeAnthropic
) -> None:
    """Claude 2.1.332 takes CLAUDE_CODE_OAUTH_TOKEN with ANTHROPIC_BASE_URL and no key at all:
    no login or key dialog, and nothing but the base URL is asked (offline here)."""
    plan = claude_plan(repo, api, auth={"CLAUDE_CODE_OAUTH_TOKEN": FAKE_TOKEN})
    worker = await start_worker(provider, plan)
    shown = await at_the_prompt(worker)

    await deliver(worker, "task-1", "say hello")
    await worker.wait_window("agent:completed", timeout=STEP_TIMEOUT)

    assert [text for text in DIALOGS.values() if text in shown] == []
    assert api.prompts == ["say hello"]
    assert {r.credential for r in api.requests} == {("bearer", FAKE_TOKEN)}
    assert FAKE_TOKEN not in processes()
    assert FAKE_TOKEN[-20:] not in scrollback(worker)
    assert holders(worker.home, FAKE_TOKEN) == [".sprite-orchestrator/agent/env"]


def holders(home: Path, secret: str) -> list[str]:
    """Files under `home` that hold `secret`. Claude still writes as we look (a lock file
    may go between listing and reading it): a file gone by then holds nothing."""
    found = []
    for path in sorted(home.rglob("*")):
        try:
            if path.is_file() and secret.encode() in path.read_bytes():
                found.append(str(path.relative_to(home)))
        except FileNotFoundError:
            continue
    return found
