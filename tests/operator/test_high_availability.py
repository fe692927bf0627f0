"""Two operator replicas against one API: one acts, the other takes over when it stops.

Each replica is `orchestrator operator --peering` in its own process (as in two pods), both
against the emulated API served here, with one state directory (the same Local machines).
"""

from __future__ import annotations

import asyncio
import pathlib
import signal
import subprocess

import aiohttp

from tests.chart.charting import objects, one
from tests.chart.test_rbac_from_a_run import ME, Permission, granted, permission
from tests.conftest import Cluster, eventually
from tests.operator.conftest import PEERING, Start
from tests.operator.test_dispatch import received

RESUMED = "Resuming operations after the pause"  # kopf's words when a replica starts acting


async def peers(cluster: Cluster) -> dict[str, dict]:
    url = f"{cluster.url}/apis/kopf.dev/v1/clusterkopfpeerings/{PEERING}"
    async with (
        aiohttp.ClientSession(headers={"User-Agent": ME}) as session,
        session.get(url) as response,
    ):
        if response.status != 200:
            return {}
        return dict((await response.json()).get("status") or {})


async def priorities(cluster: Cluster) -> set[int]:
    return {p["priority"] for p in (await peers(cluster)).values() if p.get("lifetime", 0) > 0}


async def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as Kubernetes stops a pod: the replica leaves the peering on its way out."""
    proc.send_signal(signal.SIGTERM)
    for _ in range(300):
        if proc.poll() is not None:
            return
        await asyncio.sleep(0.1)
    proc.kill()


async def test_two_replicas_dispatch_each_task_once_and_the_second_takes_over(
    api: Cluster, start: Start, demo_repo: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    first = start("first", 200)
    await eventually(lambda: _having(priorities(api), {200}), timeout=60)
    start("second", 100)
    await eventually(lambda: _having(priorities(api), {200, 100}), timeout=60)

    await api.pool("demo", demo_repo, scaling={"minIdle": 0, "maxWorkers": 2})
    prompts = [f"task number {i}" for i in range(4)]
    names = [await api.task("demo", p) for p in prompts]
    tasks = [await api.succeeded(n, timeout=90) for n in names]

    pasted = [p for w in ("demo-1", "demo-2") for p in received(api, w)]
    assert sorted(pasted) == sorted(p.encode() for p in prompts)  # each exactly once
    assert all(t["status"]["attempts"] == 1 for t in tasks)
    assert RESUMED in log(tmp_path, "first") and RESUMED not in log(tmp_path, "second")

    await stop(first)
    await eventually(lambda: _having(priorities(api), {100}, exact=True), timeout=30)
    after = await api.task("demo", "after the handover")
    task = await api.succeeded(after, timeout=90)

    assert task["status"]["conditions"][-1]["reason"] == "AgentCompleted"
    pasted = [p for w in ("demo-1", "demo-2") for p in received(api, w)]
    assert pasted.count(b"after the handover") == 1
    assert RESUMED in log(tmp_path, "second")
    assert peering_permissions_used(api) == peering_permissions_granted()


def peering_permissions_used(cluster: Cluster) -> set[Permission]:
    """What the replicas asked of kopf's peering kinds (the test itself asks with aiohttp)."""
    used = {
        permission(str(r.method.value), r.url.path, dict(r.params))
        for r in cluster.emulator
        if {k.lower(): v for k, v in r.headers.items()}.get("user-agent") != ME
    }
    return {p for p in used if p is not None and p[0] == "kopf.dev"}


def peering_permissions_granted() -> set[Permission]:
    rules = one(objects(), "ClusterRole")["rules"]
    return {p for p in granted(rules) if p[0] == "kopf.dev"}


def log(tmp_path: pathlib.Path, name: str) -> str:
    return (tmp_path / f"{name}.log").read_text()


async def _having(values, wanted: set[int], *, exact: bool = False) -> set[int] | None:
    got = await values
    ok = got == wanted if exact else wanted <= got
    return got if ok else None
