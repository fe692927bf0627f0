"""`GET /metrics` over HTTP, as Prometheus scrapes it."""

from __future__ import annotations

import aiohttp
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics

from sprite_orchestrator.metrics import Metrics
from tests.metrics.samples import parse, value

AT = {"namespace": "default", "pool": "kite"}


async def get(url: str, accept: str = "") -> tuple[int, str, str]:
    headers = {"Accept": accept} if accept else {}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def test_the_endpoint_serves_the_text_exposition() -> None:
    m = Metrics()
    m.task_finished("default", "kite", result="failed", reason="AgentError")

    async with m.serve(port=0, host="127.0.0.1") as url:
        status, content_type, text = await get(url)

    assert status == 200
    assert content_type.startswith("text/plain")
    labels = {**AT, "result": "failed", "reason": "AgentError"}
    assert value(parse(text), "orchestrator_tasks_finished_total", **labels) == 1


async def test_a_scrape_sees_the_latest_observation() -> None:
    m = Metrics()
    async with m.serve(port=0, host="127.0.0.1") as url:
        m.observe_pool(
            "default",
            "kite",
            provider="Local",
            max_workers=2,
            workers=["busy", "busy"],
            agents=["agent:running", "agent:running"],
            tasks=[],
            queue_depth=3,
        )
        _, _, text = await get(url)

    assert value(parse(text), "orchestrator_task_queue_depth", **AT) == 3


async def test_openmetrics_is_served_to_a_scraper_that_asks_for_it() -> None:
    m = Metrics()
    async with m.serve(port=0, host="127.0.0.1") as url:
        _, content_type, text = await get(url, accept="application/openmetrics-text; version=1.0.0")

    assert content_type.startswith("application/openmetrics-text")
    names = {family.name for family in openmetrics(text)}
    assert {"orchestrator_up", "orchestrator_build"} <= names


async def test_two_operators_serve_side_by_side_and_the_port_is_freed() -> None:
    one, two = Metrics(), Metrics()
    one.poll_error("default", "kite", "Timeout")

    async with one.serve(port=0, host="127.0.0.1") as a, two.serve(port=0, host="127.0.0.1") as b:
        (_, _, first), (_, _, second) = await get(a), await get(b)
    async with two.serve(port=int(b.split(":")[2].split("/")[0]), host="127.0.0.1") as again:
        status, _, _ = await get(again)

    assert value(parse(first), "orchestrator_poll_errors_total", **AT, reason="Timeout") == 1
    assert value(parse(second), "orchestrator_poll_errors_total", **AT, reason="Timeout") is None
    assert status == 200
