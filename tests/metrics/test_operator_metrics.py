"""After a real run, /metrics tells what happened: a scrape of the operator's own endpoint."""

from __future__ import annotations

import pathlib

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Cluster, eventually


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
