"""Watch streams as clients consume them: line-delimited JSON, resumable, bounded."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import kubernetes.client
import kubernetes.watch
import pytest

from sprite_orchestrator.devserver.emulator import Emulator
from sprite_orchestrator.devserver.serving import serve
from tests.devserver.conftest import GROUP, NS, PLURAL, VERSION, gadget, gadget_crd

pytestmark = pytest.mark.timeout(10)
BASE = f"/apis/{GROUP}/{VERSION}/namespaces/{NS}/{PLURAL}"
MERGE = {"Content-Type": "application/merge-patch+json"}


async def events(http: aiohttp.ClientSession, path: str, **params: str) -> tuple[str, list[Any]]:
    """Read a whole watch stream (bounded by timeoutSeconds): its content type and events.

    Real clients send whole seconds; the emulator also takes fractions, which keeps tests fast.
    """
    params = {"watch": "true", "timeoutSeconds": "0.5", **params}
    async with http.get(path, params=params) as response:
        lines = [json.loads(line) async for line in response.content if line.strip()]
        return response.headers["Content-Type"], lines


def summary(found: list[Any]) -> list[tuple[str, str]]:
    return [(event["type"], event["object"]["metadata"].get("name", "")) for event in found]


async def test_a_watch_is_json_lines_starting_with_what_exists(http: aiohttp.ClientSession) -> None:
    async with http.post(BASE, json=gadget("first")) as response:
        assert response.status == 201

    async def later() -> None:
        await asyncio.sleep(0.1)
        await http.post(BASE, json=gadget("second"))
        await http.patch(f"{BASE}/first", json={"spec": {"prompt": "p2"}}, headers=MERGE)
        await http.delete(f"{BASE}/second")

    writer = asyncio.create_task(later())
    content_type, found = await events(http, BASE)
    await writer
    assert content_type.startswith("application/json")
    expected = [("ADDED", "first"), ("ADDED", "second"), ("MODIFIED", "first")]
    assert summary(found) == [*expected, ("DELETED", "second")]


async def test_a_watch_resumes_after_a_resource_version(http: aiohttp.ClientSession) -> None:
    async with http.post(BASE, json=gadget("a")) as response:
        version = (await response.json())["metadata"]["resourceVersion"]
    await http.post(BASE, json=gadget("b"))
    await http.post(f"/apis/{GROUP}/{VERSION}/namespaces/other/{PLURAL}", json=gadget("c"))
    _, found = await events(http, BASE, resourceVersion=version)
    assert summary(found) == [("ADDED", "b")]  # not "a" (before), not "c" (another namespace)
    _, everywhere = await events(http, f"/apis/{GROUP}/{VERSION}/{PLURAL}", resourceVersion=version)
    assert summary(everywhere) == [("ADDED", "b"), ("ADDED", "c")]


async def test_a_forgotten_resource_version_is_410_gone() -> None:
    emulator = Emulator(history_limit=5)
    emulator.install_crd(gadget_crd())
    async with serve(emulator) as served, aiohttp.ClientSession(base_url=served.url) as http:
        for index in range(10):
            await http.post(BASE, json=gadget(f"g{index}"))
        _, found = await events(http, BASE, resourceVersion="2")
    [error] = found
    assert error["type"] == "ERROR"
    assert (error["object"]["code"], error["object"]["reason"]) == (410, "Expired")


async def test_initial_events_end_with_a_bookmark(http: aiohttp.ClientSession) -> None:
    await http.post(BASE, json=gadget("x"))
    params = {"sendInitialEvents": "true", "allowWatchBookmarks": "true"}
    _, found = await events(http, BASE, **params, resourceVersionMatch="NotOlderThan")
    assert [event["type"] for event in found] == ["ADDED", "BOOKMARK"]
    annotations = found[1]["object"]["metadata"]["annotations"]
    assert annotations == {"k8s.io/initial-events-end": "true"}


async def test_selectors_see_objects_come_and_go(http: aiohttp.ClientSession) -> None:
    body = gadget("flip")
    body["metadata"]["labels"] = {"app": "a"}
    async with http.post(BASE, json=body) as response:
        version = (await response.json())["metadata"]["resourceVersion"]
    for app in ("b", "a"):
        await http.patch(f"{BASE}/flip", json={"metadata": {"labels": {"app": app}}}, headers=MERGE)
    _, found = await events(http, BASE, labelSelector="app=a", resourceVersion=version)
    assert summary(found) == [("DELETED", "flip"), ("ADDED", "flip")]


async def test_many_watchers_see_the_same_events(http: aiohttp.ClientSession) -> None:
    async def later() -> None:
        await asyncio.sleep(0.1)
        await http.post(BASE, json=gadget("seen"))

    writer = asyncio.create_task(later())
    results = await asyncio.gather(*(events(http, BASE) for _ in range(5)))
    await writer
    assert all(summary(found) == [("ADDED", "seen")] for _, found in results)


async def test_closing_the_server_ends_open_watches() -> None:
    emulator = Emulator()
    loop = asyncio.get_running_loop()
    async with serve(emulator) as served, aiohttp.ClientSession(base_url=served.url) as http:
        response = await http.get("/api/v1/namespaces", params={"watch": "true"})
        started = loop.time()
    assert loop.time() - started < 2
    response.release()


async def test_quiet_watches_get_bookmarks() -> None:
    emulator = Emulator(bookmark_interval=0.1)
    async with serve(emulator) as served, aiohttp.ClientSession(base_url=served.url) as http:
        _, found = await events(http, "/api/v1/namespaces", allowWatchBookmarks="true")
    assert found[0]["type"] == "ADDED" and found[-1]["type"] == "BOOKMARK"
    assert found[-1]["object"]["metadata"]["resourceVersion"] == str(emulator.store.revision)


async def test_the_official_client_watches(api: Any, http: aiohttp.ClientSession) -> None:
    async def later() -> None:
        await asyncio.sleep(0.2)
        await http.post(BASE, json=gadget("via-client"))

    def watch() -> list[tuple[str, str]]:
        custom = kubernetes.client.CustomObjectsApi(api)
        stream = kubernetes.watch.Watch().stream(
            custom.list_namespaced_custom_object, GROUP, VERSION, NS, PLURAL, timeout_seconds=1
        )
        return [(e["type"], e["object"]["metadata"]["name"]) for e in stream]

    writer = asyncio.create_task(later())
    found = await asyncio.to_thread(watch)
    await writer
    assert found == [("ADDED", "via-client")]
