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
import pytest

from sprite_orchestrator.handlers import peering
from tests.chart.charting import objects
from tests.chart.test_rbac_from_a_run import ME, Permission, granted, permission
from tests.conftest import NS, Cluster, eventually
from tests.operator.conftest import PEERING, Start
from tests.operator.test_dispatch import received

RESUMED = "Resuming operations after the pause"  # kopf's words when a replica starts acting


# All namespaces: one ClusterKopfPeering; some namespaces: a KopfPeering in each.
SCOPES = {"cluster-wide": (), "namespaced": (NS,)}


@pytest.fixture(params=SCOPES.values(), ids=SCOPES.keys())
def namespaces(request: pytest.FixtureRequest) -> tuple[str, ...]:
    return tuple(request.param)


async def peers(cluster: Cluster, namespaces: tuple[str, ...]) -> dict[str, dict]:
    where = f"namespaces/{namespaces[0]}/kopfpeerings" if namespaces else "clusterkopfpeerings"
    url = f"{cluster.url}/apis/kopf.dev/v1/{where}/{PEERING}"
    async with (
        aiohttp.ClientSession(headers={"User-Agent": ME}) as session,
        session.get(url) as response,
    ):
        if response.status != 200:
            return {}
        return dict((await response.json()).get("status") or {})


async def priorities(cluster: Cluster, namespaces: tuple[str, ...]) -> set[int]:
    found = await peers(cluster, namespaces)
    return {p["priority"] for p in found.values() if p.get("lifetime", 0) > 0}


async def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as Kubernetes stops a pod: the replica leaves the peering on its way out."""
    proc.send_signal(signal.SIGTERM)
    for _ in range(300):
        if proc.poll() is not None:
            return
        await asyncio.sleep(0.1)
    proc.kill()


async def test_two_replicas_dispatch_each_task_once_and_the_second_takes_over(
    api: Cluster,
    start: Start,
    namespaces: tuple[str, ...],
    demo_repo: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    api.emulator.request_log_limit = 10**6  # every peering request is read at the end
    first = start("first", 200, namespaces)
    await eventually(lambda: _having(priorities(api, namespaces), {200}), timeout=60)
    start("second", 100, namespaces)
    await eventually(lambda: _having(priorities(api, namespaces), {200, 100}), timeout=60)

    await api.pool("demo", demo_repo, scaling={"minIdle": 0, "maxWorkers": 2})
    prompts = [f"task number {i}" for i in range(4)]
    names = [await api.task("demo", p) for p in prompts]
    tasks = [await api.succeeded(n, timeout=90) for n in names]

    pasted = [p for w in ("demo-1", "demo-2") for p in received(api, w)]
    assert sorted(pasted) == sorted(p.encode() for p in prompts)  # each exactly once
    assert all(t["status"]["attempts"] == 1 for t in tasks)
    assert RESUMED in log(tmp_path, "first") and RESUMED not in log(tmp_path, "second")

    await stop(first)
    await eventually(lambda: _having(priorities(api, namespaces), {100}, exact=True), timeout=30)
    after = await api.task("demo", "after the handover")
    task = await api.succeeded(after, timeout=90)

    assert task["status"]["conditions"][-1]["reason"] == "AgentCompleted"
    pasted = [p for w in ("demo-1", "demo-2") for p in received(api, w)]
    assert pasted.count(b"after the handover") == 1
    assert RESUMED in log(tmp_path, "second")
    assert peering_permissions_used(api) == peering_permissions_granted(namespaces)


def peering_permissions_used(cluster: Cluster) -> set[Permission]:
    """What the replicas asked of kopf's peering kinds (the test's own requests left out)."""
    used = {
        permission(str(r.method.value), r.url.path, dict(r.params))
        for r in cluster.emulator
        if {k.lower(): v for k, v in r.headers.items()}.get("user-agent") != ME
    }
    return {p for p in used if p is not None and p[0] == "kopf.dev"}


def peering_permissions_granted(namespaces: tuple[str, ...]) -> set[Permission]:
    """What the chart grants for peering, watching all namespaces or these."""
    objs = objects({"watchNamespaces": list(namespaces)})
    roles = [o for o in objs if o["kind"] == ("Role" if namespaces else "ClusterRole")]
    return {p for role in roles for p in granted(role["rules"]) if p[0] == "kopf.dev"}


def log(tmp_path: pathlib.Path, name: str) -> str:
    return (tmp_path / f"{name}.log").read_text()


async def _having(values, wanted: set[int], *, exact: bool = False) -> set[int] | None:
    got = await values
    ok = got == wanted if exact else wanted <= got
    return got if ok else None


async def test_peering_without_its_crds_says_what_to_apply(api: Cluster) -> None:
    crd = f"{api.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
    async with (
        aiohttp.ClientSession() as session,
        session.delete(crd + "clusterkopfpeerings.kopf.dev") as response,
    ):
        assert response.status == 200

    with pytest.raises(peering.PeeringUnavailable, match=r"apply the CRDs in crds/"):
        await peering.ensure(api.kube, PEERING, ())
    await peering.ensure(api.kube, PEERING, (NS,))  # the namespaced kind is still there
    await peering.ensure(api.kube, PEERING, (NS,))  # and again: it exists already
