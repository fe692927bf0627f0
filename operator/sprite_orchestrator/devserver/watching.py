"""Watch streams: one JSON event per line, resumable from a resourceVersion, bounded in time.

As the real server: no resourceVersion (or "0") starts with synthetic ADDED events for what
exists; a resourceVersion resumes after it, or ends with a 410 ERROR event when that part of
the history is forgotten; `sendInitialEvents` ends the initial events with a BOOKMARK;
a label change that moves an object in or out of a selector is seen as ADDED or DELETED.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp.web

from sprite_orchestrator.devserver import errors, selectors
from sprite_orchestrator.devserver.kinds import Kind
from sprite_orchestrator.devserver.store import Event, Store

Obj = dict[str, Any]
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


@dataclasses.dataclass(frozen=True)
class WatchRequest:
    kind: Kind
    namespace: str | None
    selector: selectors.Selector
    resource_version: str | None
    send_initial: bool
    bookmarks: bool
    timeout: float | None

    @classmethod
    def from_params(
        cls,
        kind: Kind,
        namespace: str | None,
        selector: selectors.Selector,
        params: Mapping[str, str],
    ) -> WatchRequest:
        timeout = params.get("timeoutSeconds")
        try:
            seconds = float(timeout) if timeout else None
        except ValueError:
            raise errors.bad_request(f"invalid timeoutSeconds: {timeout!r}") from None
        version = params.get("resourceVersion") or None
        if version not in (None, "0") and not str(version).isdigit():
            raise errors.bad_request(f"invalid resourceVersion: {version!r}")
        return cls(
            kind=kind,
            namespace=namespace,
            selector=selector,
            resource_version=version,
            send_initial=params.get("sendInitialEvents") == "true",
            bookmarks=params.get("allowWatchBookmarks") in ("true", "1"),
            timeout=seconds,
        )

    def translate(self, event: Event) -> str | None:
        """The event type this watcher sees, or None if the object is not its business."""
        namespace = event.obj["metadata"].get("namespace")
        if self.namespace is not None and namespace != self.namespace:
            return None
        matches = self.selector.matches(event.obj)
        if event.type == "MODIFIED" and event.old is not None:
            matched = self.selector.matches(event.old)
            if matches and not matched:
                return "ADDED"
            if matched and not matches:
                return "DELETED"
        return event.type if matches else None


def _line(type_: str, obj: Mapping[str, Any]) -> bytes:
    return json.dumps({"type": type_, "object": obj}, separators=(",", ":")).encode() + b"\n"


def _bookmark(kind: Kind, revision: int, *, initial_end: bool = False) -> bytes:
    meta: Obj = {"resourceVersion": str(revision)}
    if initial_end:
        meta["annotations"] = {INITIAL_EVENTS_END: "true"}
    return _line("BOOKMARK", {"kind": kind.kind, "apiVersion": kind.api_version, "metadata": meta})


def _expired(message: str) -> bytes:
    return _line("ERROR", errors.gone(message).status())


async def serve(
    raw_request: aiohttp.web.BaseRequest,
    *,
    store: Store,
    watch: WatchRequest,
    convert: Callable[[Obj], Obj],
    bookmark_interval: float,
) -> aiohttp.web.StreamResponse:
    """Stream events until the timeout, the client leaves, or the server closes the watch."""
    loop = asyncio.get_running_loop()
    deadline = None if watch.timeout is None else loop.time() + watch.timeout
    key = watch.kind.storage_key
    # Snapshot and subscribe with no await in between: no event is lost or seen twice.
    watcher = store.subscribe(key)
    first: list[bytes] = []
    start = store.revision
    if watch.resource_version in (None, "0") or watch.send_initial:
        objects = store.objects(key, watch.namespace)
        first += [_line("ADDED", convert(o)) for o in objects if watch.selector.matches(o)]
        if watch.send_initial and watch.bookmarks:
            first.append(_bookmark(watch.kind, start, initial_end=True))
    else:
        replay = store.since(key, int(watch.resource_version))
        if replay is None:
            version = watch.resource_version
            first.append(_expired(f"too old resource version: {version} ({start})"))
            store.unsubscribe(watcher)
            watcher.stop()
        else:
            for past in replay:
                type_ = watch.translate(past)
                if type_ is not None:
                    first.append(_line(type_, convert(past.obj)))
    response = aiohttp.web.StreamResponse(headers={"Content-Type": "application/json"})
    try:
        await response.prepare(raw_request)
        if first:
            await response.write(b"".join(first))
        while True:
            wait = bookmark_interval if watch.bookmarks else None
            if deadline is not None:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                wait = remaining if wait is None else min(wait, remaining)
            try:
                event: Event | None = await asyncio.wait_for(watcher.queue.get(), wait)
            except TimeoutError:
                if watch.bookmarks and (deadline is None or loop.time() < deadline):
                    await response.write(_bookmark(watch.kind, store.revision))
                continue
            if event is None:
                if watcher.overflowed:
                    await response.write(_expired("the watch fell too far behind"))
                break
            type_ = watch.translate(event)
            if type_ is not None:
                await response.write(_line(type_, convert(event.obj)))
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
    except ConnectionError:
        pass  # the client has gone: nothing to tell anyone
    finally:
        store.unsubscribe(watcher)
    return response
