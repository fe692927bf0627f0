"""The embedded default: an emulated Kubernetes API and the operator in one event loop.

`orchestrator dev` runs it for people, the tests run it for assertions, the benchmarks
run it for figures: one piece of code for all three.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import pathlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from sprite_orchestrator.devserver.emulator import Emulator
from sprite_orchestrator.devserver.serving import connection_tasks, serve, write_kubeconfig
from sprite_orchestrator.handlers import running
from sprite_orchestrator.kube import Kube, configuration
from sprite_orchestrator.models import crds

STARTUP = 30.0
SHUTDOWN = 15.0


@dataclasses.dataclass
class ControlPlane:
    """A running API + operator; `stop` ends both."""

    url: str
    emulator: Emulator
    kube: Kube
    state_dir: pathlib.Path
    stop: asyncio.Event
    operator: asyncio.Task[None]


@contextlib.asynccontextmanager
async def api(
    *, port: int = 0, kubeconfig: pathlib.Path | None = None
) -> AsyncIterator[tuple[Emulator, str]]:
    """Serve the emulated API with our CRDs installed; the operator may run elsewhere.

    Alone (`orchestrator dev --api-only`), it lets an operator in another process be killed
    and restarted against state that survives, as a real API server's would.
    """
    emulator = Emulator()
    for doc in crds.all_crds():
        emulator.install_crd(doc)
    async with serve(emulator=emulator, port=port) as served:
        if kubeconfig is not None:
            write_kubeconfig(kubeconfig, served.url)
        yield emulator, served.url


@contextlib.asynccontextmanager
async def control_plane(
    state_dir: pathlib.Path,
    *,
    port: int = 0,
    kubeconfig: pathlib.Path | None = None,
    clock: Callable[[], float] = time.time,
    metrics_port: int | None = None,
) -> AsyncIterator[ControlPlane]:
    """Serve the API with our CRDs, run the operator (Local provider) until the block ends."""
    async with api(port=port, kubeconfig=kubeconfig) as (emulator, url):
        stop, ready = asyncio.Event(), asyncio.Event()
        leaving: set[asyncio.Task[Any]] = set()  # whoever stops us is not the operator's task
        operator = asyncio.create_task(
            running.run(
                state_dir=state_dir,
                server=url,
                stop_flag=stop,
                ready_flag=ready,
                also_ignore=lambda: connection_tasks() | leaving,
                clock=clock,
                metrics_port=metrics_port,
                metrics_host="127.0.0.1",
            )
        )
        await _started(operator, ready)
        kube = Kube(configuration(server=url))
        try:
            yield ControlPlane(url, emulator, kube, state_dir, stop, operator)
        finally:
            current = asyncio.current_task()
            if current is not None:
                leaving.add(current)
            stop.set()
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(operator, timeout=SHUTDOWN)
            kube.close()


async def _started(operator: asyncio.Task[None], ready: asyncio.Event) -> None:
    """Wait for the operator to be ready; if it dies first, raise its error."""
    waiter = asyncio.ensure_future(ready.wait())
    try:
        await asyncio.wait([waiter, operator], timeout=STARTUP, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if operator.done():
        operator.result()
        raise RuntimeError("the operator exited during startup")
    if not ready.is_set():
        raise TimeoutError(f"the operator was not ready within {STARTUP:.0f}s")
