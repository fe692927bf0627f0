"""A real, minimal kopf operator in the test's loop against the emulator."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import kopf
import pytest
from kubernetes.client.exceptions import ApiException

from sprite_orchestrator.devserver.serving import Served, connection_tasks
from tests.devserver.conftest import GROUP, NS, PLURAL, VERSION, call, gadget

pytestmark = pytest.mark.timeout(20)
FINALIZER = "kopf.zalando.org/KopfFinalizerMarker"


async def eventually(probe: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if found := await probe():
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached in {timeout}s")


async def test_kopf_adds_its_finalizer_handles_patches_status_and_releases(
    served: Served, custom: Any
) -> None:
    registry = kopf.OperatorRegistry()
    settings = kopf.OperatorSettings()
    settings.watching.server_timeout = 5
    created: list[str] = []
    deleted: list[str] = []

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=served.url)

    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    def on_create(name: str, body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        created.append(name)
        patch.status["phase"] = "Handled"
        kopf.info(body, reason="Handled", message="an event through the events API")

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry)
    def on_delete(name: str, **_: Any) -> None:
        deleted.append(name)

    stop = asyncio.Event()
    ignored = set(asyncio.all_tasks())
    tasks = await kopf.spawn_tasks(
        clusterwide=True, registry=registry, settings=settings, stop_flag=stop, standalone=True
    )
    operator = asyncio.create_task(kopf.run_tasks(tasks, ignored=ignored))
    try:
        await call(custom.create_namespaced_custom_object, GROUP, VERSION, NS, PLURAL, gadget("op"))

        async def handled() -> Any:
            obj = await call(custom.get_namespaced_custom_object, GROUP, VERSION, NS, PLURAL, "op")
            return obj if (obj.get("status") or {}).get("phase") == "Handled" else None

        obj = await eventually(handled)
        assert created == ["op"]
        assert FINALIZER in obj["metadata"]["finalizers"]
        status_patches = [
            r
            for r in served.emulator._requests
            if r.method == "PATCH" and r.subresource == "status"
        ]
        assert status_patches

        await call(custom.delete_namespaced_custom_object, GROUP, VERSION, NS, PLURAL, "op")

        async def gone() -> bool:
            try:
                await call(custom.get_namespaced_custom_object, GROUP, VERSION, NS, PLURAL, "op")
            except ApiException as exc:
                return exc.status == 404
            return False

        assert await eventually(gone)
        assert deleted == ["op"]

        def posted() -> bool:
            events = served.emulator.store.objects(("", "events"), NS)
            return any(e["reason"] == "Handled" for e in events)

        assert await eventually(lambda: asyncio.sleep(0, posted()))
    finally:
        ignored |= connection_tasks()  # the server's, not the operator's: do not wait for them
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(operator, timeout=10)
