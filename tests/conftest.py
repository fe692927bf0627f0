"""Shared fixtures: a demo repo, the emulated API with our CRDs, the real operator in-process."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import pathlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest

from sprite_orchestrator import API_VERSION, embedded
from sprite_orchestrator.cli import demo
from sprite_orchestrator.core import conditions as c
from sprite_orchestrator.kube import Body, Kube, NotFound
from sprite_orchestrator.providers.local import LocalProvider

T = TypeVar("T")
NS = "default"


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 30.0, interval: float = 0.1
) -> T:
    """Poll until `probe` returns something truthy; fail with the last value on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while loop.time() < deadline:
        with contextlib.suppress(NotFound):
            last = await probe()
            if last:
                return last
        await asyncio.sleep(interval)
    raise AssertionError(f"not reached within {timeout}s; last seen: {last!r}")


def free_port() -> int:
    """A port nobody listens on now (the metrics server binds it right after)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def provider(tmp_path: pathlib.Path) -> AsyncIterator[LocalProvider]:
    """A Local provider whose machines (tmux servers, agents) are destroyed after the test."""
    local = LocalProvider(tmp_path / "machines")
    yield local
    for machine in await local.list():
        await local.destroy(machine.name)
    await local.close()


@pytest.fixture
def demo_repo(tmp_path: pathlib.Path) -> pathlib.Path:
    return demo.make_repo(tmp_path / "src")


@dataclasses.dataclass
class Cluster:
    """The emulated API server with our CRDs installed, and a client for it."""

    emulator: Any
    url: str
    kube: Kube
    state_dir: pathlib.Path
    metrics_url: str = ""

    async def pool(self, name: str, repo: pathlib.Path, **spec: Any) -> Body:
        body = {
            "apiVersion": API_VERSION,
            "kind": "WorkerPool",
            "metadata": {"name": name, "namespace": NS},
            "spec": {
                "repo": {"url": str(repo)},
                "agent": {"command": demo.DEMO_AGENT},
                "scaling": {"minIdle": 0, "maxWorkers": 2},
                "pollIntervalSeconds": 1,
                **spec,
            },
        }
        return await self.kube.create("workerpools", NS, body)

    async def task(self, pool: str, prompt: str | None, **spec: Any) -> str:
        body = {
            "apiVersion": API_VERSION,
            "kind": "AgentTask",
            "metadata": {"generateName": f"{pool}-", "namespace": NS},
            "spec": {"pool": pool, **({"prompt": prompt} if prompt is not None else {}), **spec},
        }
        created = await self.kube.create("agenttasks", NS, body)
        return str(created["metadata"]["name"])

    async def get(self, plural: str, name: str) -> Body:
        return await self.kube.get(plural, NS, name)

    async def condition(
        self,
        plural: str,
        name: str,
        type_: str,
        *,
        status: str | None = None,
        timeout: float = 30.0,
    ) -> tuple[Body, Any]:
        """Wait until the condition is set, not Unknown (or is `status`); return both."""

        async def probe() -> tuple[Body, Any] | None:
            body = await self.get(plural, name)
            found = next(
                (
                    x
                    for x in (body.get("status") or {}).get("conditions", [])
                    if x["type"] == type_
                    and x["status"] != "Unknown"
                    and x.get("reason") not in ("Pending",)
                    and (status is None or x["status"] == status)
                ),
                None,
            )
            return (body, found) if found else None

        return await eventually(probe, timeout=timeout)

    async def succeeded(self, name: str, *, timeout: float = 30.0) -> Body:
        """Wait for the task's summary condition to settle; return the task."""

        async def probe() -> Body | None:
            body = await self.get("agenttasks", name)
            conds = (body.get("status") or {}).get("conditions", [])
            found = next((x for x in conds if x["type"] == c.SUCCEEDED), None)
            return body if found and found["status"] != "Unknown" else None

        return await eventually(probe, timeout=timeout)

    async def remove_without_finalizer(self, plural: str, name: str) -> None:
        """Delete an object as `kubectl patch … finalizers: []` then delete does: no handler
        of ours runs for it (a pool removed so leaves its Workers without a pool)."""
        await self.kube.patch(plural, NS, name, {"metadata": {"finalizers": []}})
        await self.kube.delete(plural, NS, name)
        await eventually(lambda: self._absent(plural, name))

    async def _absent(self, plural: str, name: str) -> bool:
        return name not in [o["metadata"]["name"] for o in await self.kube.list(plural, NS)]

    def machines(self) -> list[pathlib.Path]:
        root = self.state_dir / "local"
        return sorted(p for p in root.glob("*/*/*") if p.is_dir()) if root.exists() else []


class Clock:
    """The operator's wall clock, which a test moves forward (sleeping is not affected)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def operator(tmp_path: pathlib.Path, clock: Clock) -> AsyncIterator[Cluster]:
    """The emulated API and the real kopf operator in this test's loop; machines destroyed."""
    state = tmp_path / "workers"
    port = free_port()
    try:
        async with embedded.control_plane(state, clock=clock, metrics_port=port) as cp:
            yield Cluster(
                emulator=cp.emulator,
                url=cp.url,
                kube=cp.kube,
                state_dir=state,
                metrics_url=f"http://127.0.0.1:{port}/metrics",
            )
    finally:
        await _destroy_machines(state)


async def _destroy_machines(state_dir: pathlib.Path) -> None:
    root = state_dir / "local"
    if not root.exists():
        return
    for pool_dir in root.glob("*/*"):
        provider = LocalProvider(pool_dir)
        for machine in await provider.list():
            await provider.destroy(machine.name)
