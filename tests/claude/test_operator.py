"""A pool of real Claude Code workers under the real operator: apply, wait, Succeeded."""

from __future__ import annotations

import json
import logging
import os
import pathlib
import signal
import subprocess
from typing import Any

import aiohttp
import pytest

from sprite_orchestrator.providers.local import LocalProvider
from tests.claude.conftest import (
    FAKE_KEY,
    FAKE_TOKEN,
    STEP_TIMEOUT,
    approve,
    processes,
    screen,
)
from tests.conftest import NS, Cluster
from tests.fakes import anthropic
from tests.worker.workerkit import Worker, eventually


@pytest.mark.parametrize(
    ("key", "secret", "sent"),
    [
        ("ANTHROPIC_API_KEY", FAKE_KEY, "api-key"),
        ("CLAUDE_CODE_OAUTH_TOKEN", FAKE_TOKEN, "bearer"),
    ],
    ids=["api-key", "oauth-token"],
)
async def test_a_task_on_claude_ends_succeeded_and_the_key_stays_secret(
    operator: Cluster,
    demo_repo: pathlib.Path,
    api: anthropic.FakeAnthropic,
    caplog: pytest.LogCaptureFixture,
    key: str,
    secret: str,
    sent: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    await operator.kube.create_secret(NS, "claude-auth", {key: secret.encode()})
    agent = {
        "command": ["claude"],
        "permissionMode": "acceptEdits",
        "authSecretRef": {"name": "claude-auth"},
        "env": [{"name": "ANTHROPIC_BASE_URL", "value": api.url}],
    }
    await operator.pool("kite", demo_repo, agent=agent)
    api.script(anthropic.text("Fixed the authentication bug."))

    name = await operator.task("kite", "fix the authentication bug")
    task = await operator.succeeded(name, timeout=90)

    found = {x["type"]: (x["status"], x["reason"]) for x in task["status"]["conditions"]}
    assert found["Succeeded"] == ("True", "AgentCompleted")
    assert task["status"]["agentState"] == "agent:completed"
    assert api.prompts == ["fix the authentication bug"]
    assert {r.credential for r in api.turns} == {(sent, secret)}
    assert task["status"]["sessionId"] == api.turns[0].session_id  # the session Claude used
    seen = json.dumps([task, *await operator.kube.list("workers", NS), await _events(operator)])
    assert secret not in seen and secret not in await _metrics(operator)
    assert "kite-1" in caplog.text and secret not in caplog.text  # logs were captured
    assert secret not in processes()


async def _metrics(cluster: Cluster) -> str:
    async with aiohttp.ClientSession() as session, session.get(cluster.metrics_url) as response:
        return await response.text()


async def _events(cluster: Cluster) -> object:
    url = f"{cluster.url}/api/v1/namespaces/{NS}/events"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.json()


async def test_a_permission_wait_an_api_error_and_a_killed_claude_as_tasks_show_them(
    operator: Cluster, demo_repo: pathlib.Path, api: anthropic.FakeAnthropic
) -> None:
    """One worker takes three tasks in turn, each ending as a user would want to read it."""
    await operator.kube.create_secret(NS, "claude-auth", {"ANTHROPIC_API_KEY": FAKE_KEY.encode()})
    env = {"ANTHROPIC_BASE_URL": api.url, "CLAUDE_CODE_MAX_RETRIES": "0"}  # 401: no retries
    agent = {
        "command": ["claude"],
        "permissionMode": "acceptEdits",
        "authSecretRef": {"name": "claude-auth"},
        "env": [{"name": k, "value": v} for k, v in env.items()],
    }
    await operator.pool("kite", demo_repo, agent=agent, scaling={"minIdle": 0, "maxWorkers": 1})

    await _permission_then_approval(operator, api)
    await _api_error(operator, api)
    await _killed_mid_turn(operator, api)


async def _permission_then_approval(operator: Cluster, api: anthropic.FakeAnthropic) -> None:
    command = "python3 -c 'print(6 * 7)' > answer.txt"
    api.script(
        anthropic.tool_use("Bash", {"command": command, "description": "Compute the answer"}),
        anthropic.text("The answer is in answer.txt.", delay=3.0),  # running, seen by a poll
    )
    name = await operator.task("kite", "compute the answer")

    _, asking = await operator.condition(
        "agenttasks", name, "NeedsInput", status="True", timeout=90
    )
    assert asking["reason"] == "WaitingForHuman"
    assert "waits for a human (permission prompt)" in asking["message"]
    worker = await _worker(operator)

    async def dialog() -> str | None:
        shown = screen(worker)
        return shown if "Do you want to proceed?" in shown else None

    assert command in await eventually(dialog, timeout=STEP_TIMEOUT, what="the dialog")
    await approve(worker)

    async def running() -> dict[str, Any] | None:
        found = _conditions(await operator.get("agenttasks", name))
        return found if found["NeedsInput"][:2] == ("False", "Running") else None

    working = await eventually(running, timeout=STEP_TIMEOUT)
    assert working["Succeeded"][0] == "Unknown"
    task = await operator.succeeded(name, timeout=60)
    found = _conditions(task)
    assert found["Succeeded"][:2] == ("True", "AgentCompleted")
    assert found["NeedsInput"][0] == "False"

    async def saved() -> str | None:  # the finished task's work, kept before the repo reset
        status = (await operator.get("agenttasks", name))["status"]
        return status.get("workCommit")

    commit = await eventually(saved, timeout=STEP_TIMEOUT, what="the work saved")
    repo = worker.home / "kite"
    shown = subprocess.run(
        ["git", "-C", str(repo), "show", f"{commit}:answer.txt"], capture_output=True, text=True
    )
    assert shown.stdout == "42\n", shown.stderr


async def _api_error(operator: Cluster, api: anthropic.FakeAnthropic) -> None:
    api.script(anthropic.error(401))
    name = await operator.task("kite", "do something")

    task = await operator.succeeded(name, timeout=90)

    status, reason, message = _conditions(task)["Succeeded"]
    assert (status, reason) == ("False", "AgentError")
    assert "authentication_failed" in message
    assert task["status"]["agentState"] == "agent:error"


async def _killed_mid_turn(operator: Cluster, api: anthropic.FakeAnthropic) -> None:
    api.script(anthropic.text("too late", delay=600))  # the model never answers
    turns = len(api.turns)
    name = await operator.task("kite", "take your time")
    await operator.condition("agenttasks", name, "Delivered", status="True", timeout=90)
    worker = await _worker(operator)

    async def asked() -> bool:
        return len(api.turns) > turns

    await eventually(asked, timeout=STEP_TIMEOUT, what="the turn's request")
    seen = await worker.poll()
    assert seen.pane_pid and seen.agent_alive
    os.kill(seen.pane_pid, signal.SIGKILL)

    task = await operator.succeeded(name, timeout=30)

    status, reason, message = _conditions(task)["Succeeded"]
    assert (status, reason) == ("False", "AgentExited")
    assert "exited" in message and task["status"]["agentStateSource"] == "pane"


async def _worker(cluster: Cluster) -> Worker:
    """The pool's one machine, as `orchestrator attach kite-1` reaches it."""
    provider = LocalProvider(cluster.state_dir / "local" / NS / "kite")
    machine = next(m for m in await provider.list() if m.name == "kite-1")
    return Worker(provider, "kite-1", "kite-dev", tuple(machine.attach))


def _conditions(body: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {
        x["type"]: (x["status"], x.get("reason", ""), x.get("message", ""))
        for x in body["status"]["conditions"]
    }
