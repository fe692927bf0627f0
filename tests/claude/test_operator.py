"""A pool of real Claude Code workers under the real operator: apply, wait, Succeeded."""

from __future__ import annotations

import json
import logging
import pathlib

import aiohttp
import pytest

from tests.claude.conftest import FAKE_KEY, processes
from tests.conftest import NS, Cluster
from tests.fakes import anthropic


async def test_a_task_on_claude_ends_succeeded_and_the_key_stays_secret(
    operator: Cluster,
    demo_repo: pathlib.Path,
    api: anthropic.FakeAnthropic,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await operator.kube.create_secret(NS, "claude-auth", {"ANTHROPIC_API_KEY": FAKE_KEY.encode()})
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
    seen = json.dumps([task, *await operator.kube.list("workers", NS), await _events(operator)])
    assert FAKE_KEY not in seen
    assert "kite-1" in caplog.text and FAKE_KEY not in caplog.text  # logs were captured
    assert FAKE_KEY not in processes()


async def _events(cluster: Cluster) -> object:
    url = f"{cluster.url}/api/v1/namespaces/{NS}/events"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.json()
