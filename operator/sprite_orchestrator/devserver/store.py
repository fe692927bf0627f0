"""Objects in memory, one global resourceVersion counter, a bounded history of changes.

Stored objects are never modified in place: every write stores a new dict. That makes each
history event a stable snapshot, safe to serialize later for any number of watchers.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from collections.abc import Iterator
from typing import Any

Obj = dict[str, Any]
StorageKey = tuple[str, str]  # (group, plural)
Location = tuple[StorageKey, str, str]  # (key, namespace or "", name)


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    revision: int
    type: str  # ADDED, MODIFIED, DELETED
    key: StorageKey
    obj: Obj
    old: Obj | None = None  # the previous state: selectors turn label changes into ADDED/DELETED


class Watcher:
    """One watch stream's inbox: `None` ends the stream (closed, or fell too far behind)."""

    def __init__(self, key: StorageKey, limit: int) -> None:
        self.key = key
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=limit)
        self.overflowed = False

    def offer(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            # A consumer this slow cannot catch up: end its stream, as the real server does.
            self.overflowed = True
            self.stop()

    def stop(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class Store:
    def __init__(self, *, history_limit: int = 10_000, queue_limit: int = 10_000) -> None:
        self._objects: dict[StorageKey, dict[tuple[str, str], Obj]] = collections.defaultdict(dict)
        self._revision = 0
        self._history: collections.deque[Event] = collections.deque()
        self._history_limit = history_limit
        self._floor = 0  # every event after this revision is still in the history
        self._queue_limit = queue_limit
        self._watchers: dict[StorageKey, set[Watcher]] = collections.defaultdict(set)
        # Indexes for garbage collection: where each uid lives, who names it as an owner.
        self._by_uid: dict[str, Location] = {}
        self._dependents: dict[str, set[Location]] = collections.defaultdict(set)

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def history_size(self) -> int:
        return len(self._history)

    def next_revision(self) -> int:
        self._revision += 1
        return self._revision

    def get(self, key: StorageKey, namespace: str | None, name: str) -> Obj | None:
        return self._objects[key].get((namespace or "", name))

    def objects(self, key: StorageKey, namespace: str | None = None) -> Iterator[Obj]:
        """Objects of one resource, in one namespace or in all; sorted as etcd lists them."""
        bucket = self._objects[key]
        for (ns, _), obj in sorted(bucket.items(), key=lambda item: item[0]):
            if namespace is None or ns == namespace:
                yield obj

    def count(self, key: StorageKey) -> int:
        return len(self._objects[key])

    def oldest(self, key: StorageKey) -> Obj | None:
        """The object stored first (insertion order), for evicting old Events."""
        return next(iter(self._objects[key].values()), None)

    def put(self, key: StorageKey, obj: Obj, *, type: str, old: Obj | None = None) -> Event:
        meta = obj["metadata"]
        location = (key, meta.get("namespace") or "", meta["name"])
        self._unindex(self._objects[key].get(location[1:]), location)
        self._objects[key][location[1:]] = obj
        self._by_uid[meta["uid"]] = location
        for owner in _owners(obj):
            self._dependents[owner].add(location)
        return self._record(Event(int(meta["resourceVersion"]), type, key, obj, old))

    def remove(self, key: StorageKey, obj: Obj) -> Event:
        meta = obj["metadata"]
        location = (key, meta.get("namespace") or "", meta["name"])
        self._unindex(self._objects[key].pop(location[1:], None), location)
        return self._record(Event(int(meta["resourceVersion"]), "DELETED", key, obj))

    def _unindex(self, obj: Obj | None, location: Location) -> None:
        if obj is None:
            return
        self._by_uid.pop(obj["metadata"].get("uid", ""), None)
        for owner in _owners(obj):
            dependents = self._dependents.get(owner)
            if dependents is not None:
                dependents.discard(location)
                if not dependents:
                    del self._dependents[owner]

    def orphans(self, uid: str) -> list[tuple[StorageKey, Obj]]:
        """Dependents of a removed owner that have no other owner left."""
        found = []
        for key, namespace, name in self._dependents.pop(uid, set()):
            obj = self.get(key, namespace, name)
            if obj is not None and not any(owner in self._by_uid for owner in _owners(obj)):
                found.append((key, obj))
        return found

    def in_namespace(self, namespace: str) -> list[tuple[StorageKey, Obj]]:
        return [
            (key, obj)
            for key, bucket in self._objects.items()
            for (ns, _), obj in list(bucket.items())
            if ns == namespace
        ]

    def _record(self, event: Event) -> Event:
        self._history.append(event)
        while len(self._history) > self._history_limit:
            self._floor = self._history.popleft().revision
        for watcher in list(self._watchers.get(event.key, ())):
            watcher.offer(event)
        return event

    def since(self, key: StorageKey, revision: int) -> list[Event] | None:
        """Events of a resource after a revision, oldest first; `None` if some were forgotten."""
        if revision < self._floor:
            return None
        events = []
        for event in reversed(self._history):
            if event.revision <= revision:
                break
            if event.key == key:
                events.append(event)
        events.reverse()
        return events

    def subscribe(self, key: StorageKey) -> Watcher:
        watcher = Watcher(key, self._queue_limit)
        self._watchers[key].add(watcher)
        return watcher

    def unsubscribe(self, watcher: Watcher) -> None:
        self._watchers[watcher.key].discard(watcher)

    def close(self) -> None:
        """End every watch stream, so that the HTTP server can shut down at once."""
        for watchers in self._watchers.values():
            for watcher in watchers:
                watcher.stop()


def _owners(obj: Obj) -> list[str]:
    refs = obj["metadata"].get("ownerReferences") or ()
    return [ref["uid"] for ref in refs if isinstance(ref, dict) and ref.get("uid")]
