"""Running the emulator on a port, and a kubeconfig that points kubectl and clients at it."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import pathlib
from collections.abc import AsyncIterator
from typing import Any

import kmock
import yaml

from sprite_orchestrator.devserver.emulator import Emulator

CONTEXT = "orchestrator-dev"


@dataclasses.dataclass(frozen=True)
class Served:
    url: str  # http://127.0.0.1:PORT, no trailing slash
    emulator: Emulator


@contextlib.asynccontextmanager
async def serve(
    emulator: Emulator | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[Served]:
    """Serve the emulator over plain HTTP in the running loop; port 0 picks a free port."""
    emulator = emulator if emulator is not None else Emulator()
    async with emulator, kmock.Server(emulator, host=host, port=port or None) as server:
        reachable = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
        try:
            yield Served(url=f"http://{reachable}:{server.port}", emulator=emulator)
        finally:
            # Open watch streams would hold the server's shutdown for up to a minute.
            emulator.close()


def connection_tasks() -> set[asyncio.Task[Any]]:
    """The HTTP server's per-connection tasks in the running loop.

    kopf's `run_tasks` treats every task born after the operator started as its own, and waits
    5 s for them on stop: pass these in its `ignored` set (a live set is read at stop time) when
    the emulator and an in-process operator share a loop.
    """
    return {
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "").startswith("RequestHandler.")
    }


def write_kubeconfig(
    path: str | os.PathLike[str], url: str, namespace: str = "default"
) -> pathlib.Path:
    """A kubeconfig for a plain-HTTP server with no credentials, readable by its owner only."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": url}}],
        "users": [{"name": CONTEXT, "user": {}}],
        "contexts": [
            {
                "name": CONTEXT,
                "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace},
            }
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }
    target = pathlib.Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        yaml.safe_dump(config, file, sort_keys=False)
    target.chmod(0o600)  # also when the file existed with wider permissions
    return target
