"""The API server drops watch streams, forgets history and fails requests: nothing is lost.

The emulator serves the operator (a real process) with faults injected: every watch stream
is cut every fraction of a second, resuming from an old resourceVersion gets 410 Gone (a
short history), and a share of requests fail with 503 — half before the server applies
them, half after (the change is made, the answer is lost, as when a connection drops).
While faults are on, the test reads the API's store directly, never through the faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import pathlib
import random
from collections.abc import AsyncIterator
from typing import Any

import aiohttp.web
import pytest

from sprite_orchestrator import GROUP
from sprite_orchestrator.devserver.emulator import Emulator
from sprite_orchestrator.devserver.serving import serve, write_kubeconfig
from sprite_orchestrator.kube import Kube, configuration
from sprite_orchestrator.models import crds
from tests.conftest import NS, Cluster, _destroy_machines, eventually
from tests.faults.conftest import OperatorProcess
from tests.operator.test_dispatch import received

SEED = 7
# Of the operator's requests while faults are on: it makes few (a poll reads from the
# watches), so the budget is spent early in the run.
ERROR_RATE = 0.15
ERROR_BUDGET = 25  # then only the watch cuts go on
TASKS = 4


@dataclasses.dataclass
class Faults:
    """What the flaky API did, for the assertions and the README's counts."""

    rng: random.Random = dataclasses.field(default_factory=lambda: random.Random(SEED))
    active: bool = False
    failed_before: int = 0  # answered 503, not applied
    failed_after: int = 0  # applied, then answered 503
    drops: int = 0  # times every watch stream was cut


class FlakyEmulator(Emulator):
    """The emulator with faults on request; `faults` is None until a test sets it."""

    faults: Faults | None = None

    async def _handle(self, request: Any) -> aiohttp.web.StreamResponse:
        faults = self.faults
        watch = request.params.get("watch") in ("true", "1")
        if faults is None or not faults.active or faults.rng.random() >= ERROR_RATE:
            return await super()._handle(request)
        if faults.failed_before + faults.failed_after >= ERROR_BUDGET:
            return await super()._handle(request)
        if watch or request.method == "GET" or faults.rng.random() < 0.5:
            faults.failed_before += 1
            return _unavailable()
        await super()._handle(request)
        faults.failed_after += 1
        return _unavailable()


def _unavailable() -> aiohttp.web.Response:
    status = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": "injected fault: the server is unavailable",
        "reason": "ServiceUnavailable",
        "code": 503,
    }
    return aiohttp.web.Response(
        body=json.dumps(status).encode(), status=503, content_type="application/json"
    )


@pytest.fixture
async def flaky(tmp_path: pathlib.Path) -> AsyncIterator[tuple[Cluster, OperatorProcess]]:
    """A flaky API (a history of only 30 changes) and an operator process against it."""
    emulator = FlakyEmulator(history_limit=30)
    for doc in crds.all_crds():
        emulator.install_crd(doc)
    async with serve(emulator=emulator) as served:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", served.url)
        kube = Kube(configuration(server=served.url))
        cluster = Cluster(emulator, served.url, kube, tmp_path / "workers")
        (tmp_path / "logs").mkdir()
        process = OperatorProcess(kubeconfig, cluster.state_dir, tmp_path / "logs")
        try:
            yield cluster, process
        finally:
            process.stop()
            kube.close()
            await _destroy_machines(cluster.state_dir)


def stored(cluster: Cluster, plural: str, name: str) -> dict[str, Any]:
    """An object as the API holds it, read past the faults."""
    found = cluster.emulator.store.get((GROUP, plural), NS, name)
    assert found is not None, name
    return dict(found)


def summary(body: dict[str, Any]) -> dict[str, tuple[str, str]]:
    conds = (body.get("status") or {}).get("conditions") or []
    return {x["type"]: (x["status"], x["reason"]) for x in conds}


@contextlib.asynccontextmanager
async def cutting_watches(emulator: FlakyEmulator, faults: Faults) -> AsyncIterator[None]:
    """Cut every watch stream every 0.2-1 s while the block runs."""

    async def cut() -> None:
        while True:
            await asyncio.sleep(faults.rng.uniform(0.2, 1.0))
            emulator.close()
            faults.drops += 1

    task = asyncio.create_task(cut())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.mark.timeout(300)  # each injected error backs a reconciler off 5 s or more
async def test_watch_drops_410s_and_503s_lose_no_task_and_duplicate_none(
    flaky: tuple[Cluster, OperatorProcess], demo_repo: pathlib.Path
) -> None:
    cluster, operator = flaky
    emulator = cluster.emulator
    assert isinstance(emulator, FlakyEmulator)
    await cluster.pool("demo", demo_repo, scaling={"minIdle": 0, "maxWorkers": 2})
    faults = emulator.faults = Faults()
    operator.start()
    names: list[str] = []

    faults.active = True
    async with cutting_watches(emulator, faults):
        for i in range(TASKS):
            faults.active = False  # the user's kubectl is not what is under test
            names.append(await cluster.task("demo", f"task {i} under a flaky API"))
            faults.active = True
            await asyncio.sleep(0.5)

        async def all_finished() -> list[dict[str, Any]] | None:
            tasks = [stored(cluster, "agenttasks", n) for n in names]
            done = [t for t in tasks if summary(t).get("Succeeded", ("Unknown",))[0] != "Unknown"]
            return tasks if len(done) == len(tasks) else None

        finished = await eventually(all_finished, timeout=150, interval=0.3)
    faults.active = False

    pasted = received(cluster, "demo-1") + received(cluster, "demo-2")
    for task in finished:
        assert summary(task)["Succeeded"] == ("True", "AgentCompleted"), task["status"]
        assert pasted.count(task["spec"]["prompt"].encode()) == 1, pasted
        assert task["status"]["attempts"] == 1
    assert len(pasted) == TASKS
    assert faults.drops >= 5 and faults.failed_before + faults.failed_after == ERROR_BUDGET, faults
    assert operator.alive()  # it rode the faults out; nothing restarted it
    print(f"\nflaky API: {faults}")


async def test_the_api_server_restarting_mid_dispatch_loses_and_duplicates_nothing(
    tmp_path: pathlib.Path, demo_repo: pathlib.Path
) -> None:
    """The HTTP server goes away for a few seconds (every connection refused) and comes back
    on the same port with the same state, as an API server behind etcd does."""
    emulator = Emulator()
    for doc in crds.all_crds():
        emulator.install_crd(doc)
    (tmp_path / "logs").mkdir()
    async with contextlib.AsyncExitStack() as stack:
        served = await stack.enter_async_context(serve(emulator=emulator))
        port = int(served.url.rsplit(":", 1)[1])
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", served.url)
        kube = Kube(configuration(server=served.url))
        cluster = Cluster(emulator, served.url, kube, tmp_path / "workers")
        operator = OperatorProcess(kubeconfig, cluster.state_dir, tmp_path / "logs")
        try:
            await cluster.pool("demo", demo_repo, scaling={"minIdle": 0, "maxWorkers": 2})
            names = [await cluster.task("demo", f"task {i} demo:sleep=2") for i in range(3)]
            operator.start()
            await cluster.condition("agenttasks", names[0], "Delivered", status="True", timeout=90)

            await stack.aclose()  # the server is gone: connections refused
            await asyncio.sleep(3)
            await stack.enter_async_context(serve(emulator=emulator, port=port))
            names.append(await cluster.task("demo", "task 3, after the restart"))

            done = [await cluster.succeeded(n, timeout=120) for n in names]
            pasted = received(cluster, "demo-1") + received(cluster, "demo-2")
            for task in done:
                assert summary(task)["Succeeded"] == ("True", "AgentCompleted"), task["status"]
                assert pasted.count(task["spec"]["prompt"].encode()) == 1, pasted
            assert len(pasted) == len(names)
            assert operator.alive()
        finally:
            operator.stop()
            kube.close()
            await _destroy_machines(cluster.state_dir)
