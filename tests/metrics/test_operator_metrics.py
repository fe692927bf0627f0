"""After a real run, /metrics tells what happened: a scrape of the operator's own endpoint."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sprite_orchestrator.worker import polling
from tests.conftest import Cluster, eventually
from tests.operator.test_dispatch import attach_argv
from tests.operator.test_worker_health import failing_repo


async def scrape(cluster: Cluster) -> dict[tuple[str, frozenset], float]:
    async with aiohttp.ClientSession() as session, session.get(cluster.metrics_url) as response:
        assert response.status == 200
        text = await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


async def test_a_scrape_after_a_run_counts_what_happened(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool("demo", demo_repo, scaling={"minIdle": 1, "maxWorkers": 2})
    good = await operator.task("demo", "works")
    bad = await operator.task("demo", "fails demo:error")
    await operator.succeeded(good)
    await operator.succeeded(bad)

    async def settled() -> dict | None:
        samples = await scrape(operator)
        done = value(samples, "orchestrator_tasks_finished_total", pool="demo")
        return (
            samples
            if done == 2 and value(samples, "orchestrator_workers", pool="demo", state="idle") >= 1
            else None
        )

    samples = await eventually(settled, timeout=30)
    finished = "orchestrator_tasks_finished_total"
    assert value(samples, finished, pool="demo", result="succeeded", reason="AgentCompleted") == 1
    assert value(samples, finished, pool="demo", result="failed", reason="AgentError") == 1
    assert value(samples, "orchestrator_dispatch_seconds_count", pool="demo") == 2
    assert value(samples, "orchestrator_provision_seconds_count", pool="demo") >= 1
    assert value(samples, "orchestrator_poll_seconds_count", pool="demo") > 0
    assert (
        value(samples, "orchestrator_tasks", pool="demo", condition="Succeeded", status="True") == 1
    )
    assert value(samples, "orchestrator_task_queue_depth", pool="demo") == 0
    assert value(samples, "orchestrator_agent_state", pool="demo", state="agent:waiting") >= 1
    names = {name for name, _ in samples}
    assert not any(good in str(labels) or bad in str(labels) for _, labels in samples)
    assert "orchestrator_pool_max_workers" in names


async def test_a_scrape_shows_an_agent_error_a_failed_poll_and_a_failed_provisioning(
    operator: Cluster,
    demo_repo: pathlib.Path,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one = {"minIdle": 1, "maxWorkers": 1}
    await operator.pool("demo", demo_repo, scaling=one)
    await operator.pool(
        "bad", failing_repo(tmp_path / "bad"), scaling=one, provisioning={"maxFailures": 9}
    )
    await operator.condition("workers", "demo-1", "Ready", status="True", timeout=60)
    tmux = await attach_argv(operator)

    # Someone attached to the idle worker types a prompt, and the agent's turn fails.
    subprocess.run([*tmux, "send-keys", "-t", "=demo-dev:1", "-l", "hi demo:error"], check=True)
    subprocess.run([*tmux, "send-keys", "-t", "=demo-dev:1", "Enter"], check=True)
    errors = await eventually(lambda: _scraped(operator, "orchestrator_agent_state", "error"))
    assert value(errors, "orchestrator_agent_state", pool="demo", state="agent:error") == 1
    assert value(errors, "orchestrator_agent_state", pool="demo", state="agent:waiting") == 0

    # The worker's tmux server hangs: a poll times out (shortened from 20 s for the test).
    monkeypatch.setattr(polling, "_POLL_TIMEOUT_SECONDS", 1.0)
    server = int(_tmux(tmux, "display-message", "-p", "#{pid}"))
    os.kill(server, signal.SIGSTOP)
    try:
        hung = await eventually(lambda: _scraped(operator, "orchestrator_poll_errors_total"))
    finally:
        os.kill(server, signal.SIGCONT)
    assert value(hung, "orchestrator_poll_errors_total", pool="demo", reason="ExecTimeout") >= 1
    assert value(hung, "orchestrator_poll_errors_total", pool="bad") == 0

    # The other pool's setup script fails: its worker counts as failed.
    failed = await eventually(lambda: _scraped(operator, "orchestrator_workers", "bad"))
    assert value(failed, "orchestrator_workers", pool="bad", state="failed") == 1
    assert value(failed, "orchestrator_workers", pool="bad", state="idle") == 0
    assert value(failed, "orchestrator_provision_seconds_count", pool="bad", result="failed") >= 1


async def _scraped(cluster: Cluster, name: str, which: str = "") -> dict | None:
    """The scrape once `name` shows what this test waits for, else None."""
    samples = await scrape(cluster)
    wanted = {
        "error": {"pool": "demo", "state": "agent:error"},
        "bad": {"pool": "bad", "state": "failed"},
    }.get(which, {"pool": "demo"})
    return samples if value(samples, name, **wanted) >= 1 else None


def _tmux(argv: list[str], *args: str) -> str:
    return subprocess.run([*argv, *args], capture_output=True, text=True, check=True).stdout
