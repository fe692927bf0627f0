"""Requests people make with annotations: `orchestrator drain` a pool, `reset` a worker."""

from __future__ import annotations

import pathlib

import aiohttp

from tests.conftest import NS, Cluster, eventually
from tests.operator.test_dispatch import conditions, home
from tests.operator.test_lifecycle import agent_writes, git, remote, succeeded

__all__ = ["remote"]  # the fixture, shared with the lifecycle tests

DRAIN = "orchestrator.dev/drain"
RESET = "orchestrator.dev/reset-requested"
SLOW = 120.0  # provisioning a machine, on a machine shared with other test runs


async def event_messages(cluster: Cluster, name: str) -> list[tuple[str, str]]:
    url = f"{cluster.url}/api/v1/namespaces/{NS}/events"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        items = (await response.json())["items"]
    return [(e["reason"], e["message"]) for e in items if e["involvedObject"]["name"] == name]


async def annotate(cluster: Cluster, plural: str, name: str, key: str, value: str | None) -> None:
    await cluster.kube.patch(plural, NS, name, {"metadata": {"annotations": {key: value}}})


async def workers(cluster: Cluster) -> set[str]:
    return {w["metadata"]["name"] for w in await cluster.kube.list("workers", NS)}


async def test_a_draining_pool_starts_nothing_and_lets_busy_workers_finish_then_go(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool("demo", demo_repo, scaling={"minIdle": 1, "maxWorkers": 2})
    busy = await operator.task("demo", "hold a worker demo:sleep=600")
    await operator.condition("agenttasks", busy, "Delivered", status="True", timeout=SLOW)
    held = (await operator.get("agenttasks", busy))["status"]["workerName"]
    idle = ({"demo-1", "demo-2"} - {held}).pop()  # both start at once: either may take it
    await eventually(lambda: _ready(operator, idle), timeout=SLOW)  # minIdle: one more warm

    await annotate(operator, "workerpools", "demo", DRAIN, "true")

    async def draining() -> bool:
        pool = await operator.get("workerpools", "demo")
        ready = next(c for c in pool["status"]["conditions"] if c["type"] == "Ready")
        return ready["reason"] == "Draining" and "1 busy workers finish" in ready["message"]

    await eventually(draining)  # counted from the Workers the pass read
    assert await eventually(lambda: _only(operator, {held}))  # the idle one went
    reaped = await eventually(lambda: event_messages(operator, "demo"))
    assert ("WorkerReaped", f"idle worker {idle} removed (the pool is draining)") in reaped
    waiting = await operator.task("demo", "arrives while draining")
    _, scheduled = await operator.condition("agenttasks", waiting, "Scheduled")
    assert scheduled["reason"] == "PoolDraining"
    assert scheduled["message"].startswith("pool demo is draining")

    await operator.kube.patch("agenttasks", NS, busy, {"spec": {"cancelled": True}})
    assert await eventually(lambda: _only(operator, set()), timeout=SLOW)  # finished, then gone
    assert "workerName" not in (await operator.get("agenttasks", waiting))["status"]

    await annotate(operator, "workerpools", "demo", DRAIN, None)
    done = await operator.succeeded(waiting, timeout=SLOW)
    assert succeeded(done) == ("True", "AgentCompleted")
    await operator.condition("workerpools", "demo", "Ready", status="True", timeout=SLOW)


async def test_reset_re_provisions_an_idle_worker_on_a_fresh_machine(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool("demo", demo_repo, scaling={"minIdle": 1, "maxWorkers": 1})
    await eventually(lambda: _ready(operator, "demo-1"), timeout=SLOW)
    before = conditions(await operator.get("workers", "demo-1"))
    stray = home(operator, "demo-1") / "stray.txt"
    stray.write_text("left by a human\n")

    await annotate(operator, "workers", "demo-1", RESET, "2026-11-25T18:00:00Z")

    seen = await eventually(lambda: _reasons(operator, "demo-1", "WorkerReset"), timeout=SLOW)
    assert seen == [
        ("WorkerReset", "reset requested (orchestrator reset): the machine is re-provisioned")
    ]
    worker = await eventually(lambda: _ready(operator, "demo-1"), timeout=SLOW)
    assert RESET not in (worker["metadata"].get("annotations") or {})
    assert conditions(worker)["Provisioned"] == ("True", "Provisioned") == before["Provisioned"]
    assert not stray.exists()  # a new machine
    assert (home(operator, "demo-1") / "demo" / "README.md").exists()
    name = await operator.task("demo", "after the reset")
    assert succeeded(await operator.succeeded(name)) == ("True", "AgentCompleted")


async def test_reset_of_a_busy_worker_saves_the_task_s_work_and_ends_it(
    operator: Cluster, remote: pathlib.Path
) -> None:
    await operator.pool("demo", remote, scaling={"minIdle": 0, "maxWorkers": 1})
    name = await operator.task("demo", "work demo:sleep=60")
    await agent_writes(operator, name, "work before the reset\n")

    await annotate(operator, "workers", "demo-1", RESET, "2026-11-25T18:00:00Z")

    task = await operator.succeeded(name, timeout=SLOW)
    assert succeeded(task) == ("False", "WorkerReset")
    assert task["status"]["workBranch"] == f"wip/{name}"
    assert git(remote, "show", f"wip/{name}:notes.txt") == "work before the reset"
    worker = await eventually(lambda: _ready(operator, "demo-1"), timeout=SLOW)
    assert "taskRef" not in worker["status"] or worker["status"]["taskRef"] is None


async def _ready(cluster: Cluster, name: str) -> dict | None:
    worker = await cluster.get("workers", name)
    status = conditions(worker) if worker.get("status", {}).get("conditions") else {}
    return worker if status.get("Ready", ("",))[0] == "True" else None


async def _only(cluster: Cluster, names: set[str]) -> bool:
    return await workers(cluster) == names


async def _reasons(cluster: Cluster, name: str, reason: str) -> list[tuple[str, str]]:
    return [e for e in await event_messages(cluster, name) if e[0] == reason]
