"""Transcripts of the real Claude Code: summarised on the worker, rolled up into the task's
status and the cost metric, kept off the worker, shown by `orchestrator logs`."""

from __future__ import annotations

import dataclasses
import json
import pathlib

import aiohttp
import pytest

from sprite_orchestrator.core import transcripts
from sprite_orchestrator.handlers.transcripts import REFRESH_POLLS, saved_path
from sprite_orchestrator.worker import delivery, transcript
from tests.claude.conftest import FAKE_KEY, STEP_TIMEOUT, deliver
from tests.cli.running import Orchestrator
from tests.conftest import NS, Clock, Cluster, eventually
from tests.fakes import anthropic
from tests.metrics.samples import parse, value
from tests.worker.workerkit import Worker

SCRIPT = (
    anthropic.tool_use(
        "Write", {"file_path": "notes.md", "content": "fixed\n"}, words="Let me write the notes."
    ),
    anthropic.text("Wrote notes.md."),
)
POLL_SECONDS = 1


def expected_tokens(api: anthropic.FakeAnthropic) -> tuple[int, int]:
    """The tokens the fake API reported for the agent's turns (inputs from its cache too)."""
    usage = [turn.usage or {} for turn in api.turns]
    inputs = sum(
        u.get(k, 0)
        for u in usage
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    return inputs, sum(u.get("output_tokens", 0) for u in usage)


async def test_a_turn_with_a_tool_call_is_summarised_from_the_workers_transcript(
    claude: Worker, api: anthropic.FakeAnthropic
) -> None:
    api.script(*SCRIPT)
    done = await deliver(claude, "task-1", "write the notes")
    await claude.wait_window("agent:completed", timeout=STEP_TIMEOUT)
    assert done.session_id is not None

    # Claude writes its transcript in the background: the turn's end may land after Stop.
    summary = await eventually(lambda: _finished_turn(claude, done.session_id or ""))

    assert (summary.turns, summary.tool_uses) == (len(api.turns), {"Write": 1}) == (2, {"Write": 1})
    assert summary.last_message == "Wrote notes.md."
    inputs, outputs = expected_tokens(api)
    assert (summary.input_tokens, summary.output_tokens) == (inputs, outputs)
    model = api.turns[0].body["model"]
    price = transcripts.price(model)
    assert price is not None, f"no price for {model}"
    assert summary.cost_source == "PriceTable"
    assert summary.cost_usd == pytest.approx((inputs * price.input + outputs * price.output) / 1e6)


async def _finished_turn(worker: Worker, session_id: str) -> transcripts.Summary | None:
    found = await transcript.summary(worker.provider, worker.name, session_id)
    return found if found is not None and found.last_message == "Wrote notes.md." else None


async def test_claudes_own_cost_at_the_end_of_a_session_agrees_with_the_price_table(
    claude: Worker, api: anthropic.FakeAnthropic
) -> None:
    api.script(*SCRIPT)
    done = await deliver(claude, "task-1", "write the notes")
    await claude.wait_window("agent:completed", timeout=STEP_TIMEOUT)
    assert done.session_id is not None
    estimate = await eventually(lambda: _finished_turn(claude, done.session_id or ""))

    await delivery.restart_agent(claude.provider, claude.name, session=claude.session)

    async def ended() -> transcripts.Summary | None:
        found = await transcript.summary(claude.provider, claude.name, done.session_id or "")
        return found if found is not None and found.cost_source == "Claude" else None

    final = await eventually(ended, timeout=STEP_TIMEOUT)
    assert estimate.cost_source == "PriceTable" and estimate.cost_usd is not None
    assert final.cost_usd == pytest.approx(estimate.cost_usd)
    assert (final.turns, final.tool_uses) == (estimate.turns, estimate.tool_uses)


async def test_a_finished_task_shows_its_transcript_cost_and_logs(
    operator: Cluster,
    demo_repo: pathlib.Path,
    api: anthropic.FakeAnthropic,
    tmp_path: pathlib.Path,
) -> None:
    await _claude_pool(operator, demo_repo, api)
    api.script(*SCRIPT)
    name = await operator.task("kite", "write the notes")
    worker_name = (await operator.succeeded(name, timeout=90))["status"]["workerName"]
    await eventually(lambda: _released(operator, worker_name), timeout=STEP_TIMEOUT)

    status = (await operator.get("agenttasks", name))["status"]
    summary = status["transcript"]
    inputs, outputs = expected_tokens(api)
    assert (summary["turns"], summary["toolUses"]) == (2, {"Write": 1})
    assert summary["lastMessage"] == "Wrote notes.md."
    assert (summary["inputTokens"], summary["outputTokens"]) == (inputs, outputs)
    assert summary["costUSD"] > 0 and summary["costSource"] == "Claude"  # the session ended
    assert (status["agentState"], status["agentStateSource"]) == ("agent:completed", "window")
    assert status["agentStateTime"] <= status["completionTime"]

    scraped = parse(await _scrape(operator))
    cost = value(scraped, "orchestrator_task_cost_usd_total", namespace=NS, pool="kite")
    assert cost == pytest.approx(summary["costUSD"])

    saved = saved_path(operator.state_dir, NS, name)
    records = [json.loads(line) for line in saved.read_bytes().splitlines()]
    assert {r.get("sessionId") for r in records if "sessionId" in r} == {status["sessionId"]}
    assert "Wrote notes.md." in saved.read_text() and saved.stat().st_mode & 0o777 == 0o600

    cli = Orchestrator.for_cluster(operator.url, tmp_path)
    code, out, err = await cli.run("logs", name)
    assert code == 0, err
    assert f"task {name} on worker {status['workerName']}" in out
    assert "==> clone" in out  # the provisioning output kept on the worker
    assert "== pane (window 1: the worker is idle now)" in out
    assert "turns: 2\ntools: Write x1\n" in out and "last message: Wrote notes.md." in out
    code, out, _ = await cli.run("logs", name, "-o", "json")
    shown = json.loads(out)
    assert (code, shown["task"], shown["transcript"]["from"]) == (0, name, "worker")
    assert shown["transcript"]["costUSD"] == pytest.approx(summary["costUSD"])

    code, out, err = await cli.run("logs", "no-such-task")
    assert (code, out) == (2, "")
    assert err.strip() == (
        f"error: no AgentTask or Worker named 'no-such-task' in namespace '{NS}' "
        f"(`orchestrator status -n {NS}` and `orchestrator workers -n {NS}` list them)"
    )


async def test_a_running_tasks_summary_is_refreshed_while_it_works(
    operator: Cluster, demo_repo: pathlib.Path, api: anthropic.FakeAnthropic, clock: Clock
) -> None:
    await _claude_pool(operator, demo_repo, api)
    slow_tool = dataclasses.replace(SCRIPT[0], delay=4)  # the first summary comes before it
    api.script(slow_tool, anthropic.text("Wrote notes.md.", delay=120))  # the turn goes on
    name = await operator.task("kite", "write the notes")
    await eventually(lambda: _summarised(operator, name), timeout=90)
    await eventually(lambda: _asked_twice(api), timeout=STEP_TIMEOUT)  # the tool ran

    clock.advance(REFRESH_POLLS * POLL_SECONDS)  # the summary is due again
    task = await eventually(lambda: _tools_shown(operator, name), timeout=STEP_TIMEOUT)

    summary = task["status"]["transcript"]
    assert (summary["turns"], summary["lastMessage"]) == (1, "Let me write the notes.")
    conditions = {x["type"]: x for x in task["status"]["conditions"]}
    assert conditions["Succeeded"]["status"] == "Unknown"
    assert task["status"]["agentState"] == "agent:running"


async def _claude_pool(cluster: Cluster, repo: pathlib.Path, api: anthropic.FakeAnthropic) -> None:
    await cluster.kube.create_secret(NS, "claude-auth", {"ANTHROPIC_API_KEY": FAKE_KEY.encode()})
    agent = {
        "command": ["claude"],
        "permissionMode": "acceptEdits",
        "authSecretRef": {"name": "claude-auth"},
        "env": [{"name": "ANTHROPIC_BASE_URL", "value": api.url}],
    }
    await cluster.pool("kite", repo, agent=agent, pollIntervalSeconds=POLL_SECONDS)


async def _summarised(cluster: Cluster, name: str) -> bool:
    return bool(((await cluster.get("agenttasks", name)).get("status") or {}).get("transcript"))


async def _asked_twice(api: anthropic.FakeAnthropic) -> bool:
    return len(api.turns) >= 2


async def _tools_shown(cluster: Cluster, name: str) -> dict[str, object] | None:
    task = await cluster.get("agenttasks", name)
    summary = (task.get("status") or {}).get("transcript") or {}
    return task if summary.get("toolUses") == {"Write": 1} else None


async def _released(cluster: Cluster, worker: str) -> bool:
    """The worker let go of the task: its transcript was kept, a fresh agent started."""
    return (await cluster.get("workers", worker))["status"].get("taskRef") is None


async def _scrape(cluster: Cluster) -> str:
    async with aiohttp.ClientSession() as session, session.get(cluster.metrics_url) as response:
        return await response.text()
