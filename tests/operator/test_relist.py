"""An operator starting over a thousand tasks (a restart, a new leader) handles every one."""

from __future__ import annotations

import asyncio
import pathlib
from typing import Any

from tests.conftest import NS, Cluster, eventually
from tests.operator.conftest import Start
from tests.operator.test_requests import DRAIN, annotate

TASKS = 1001  # more than a page of kopf's or kubectl's lists (500): paging once lost most
WAITING = "PoolDraining"


async def test_an_operator_starting_over_a_thousand_tasks_admits_and_queues_every_one(
    api: Cluster, start: Start, demo_repo: pathlib.Path
) -> None:
    await api.pool("demo", demo_repo)
    await annotate(api, "workerpools", "demo", DRAIN, "true")  # tasks wait, no machine starts
    gate = asyncio.Semaphore(16)

    async def create(i: int) -> str:
        async with gate:
            return await api.task("demo", f"task {i}")

    names = set(await asyncio.gather(*(create(i) for i in range(TASKS))))

    start("only", 100)

    async def waiting() -> set[str] | None:
        listed = await api.kube.list("agenttasks", NS)
        found = {t["metadata"]["name"] for t in listed if _reason(t) == WAITING}
        return found if found == names else None

    assert await eventually(waiting, timeout=90)  # each admitted, then seen by its pool


def _reason(task: dict[str, Any]) -> str | None:
    for cond in (task.get("status") or {}).get("conditions") or ():
        if cond["type"] == "Scheduled":
            return str(cond["reason"])
    return None
