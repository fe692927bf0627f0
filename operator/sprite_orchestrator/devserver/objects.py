"""The write side of the API: create, update, delete, and what follows from them.

Every write decides against the stored state with no await in between, so writes are atomic
without a lock. Deletion honours finalizers; removing an object deletes what it owned (the
controller-manager's garbage collection, done at once), and deleting a namespace deletes
what it holds.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sprite_orchestrator.devserver import errors, kinds, lifecycle, scaling
from sprite_orchestrator.devserver.kinds import CRD_GROUP, CRD_PLURAL, Kind
from sprite_orchestrator.devserver.store import Obj, StorageKey, Store

NAMESPACES: StorageKey = ("", "namespaces")
CRDS: StorageKey = (CRD_GROUP, CRD_PLURAL)
EVENTS: tuple[StorageKey, ...] = (("", "events"), ("events.k8s.io", "events"))
Written = tuple[Obj, list[str]]  # the object as stored, and warnings for the client
CrdHook = Callable[[Obj, bool], None]  # (the CRD, whether it is gone)


class Objects:
    def __init__(
        self,
        store: Store,
        *,
        namespace_kind: Kind,
        on_crd: CrdHook,
        event_limit: int,
        implicit_namespaces: bool,
    ) -> None:
        self._store = store
        self._namespace_kind = namespace_kind
        self._on_crd = on_crd
        self._event_limit = event_limit
        self._implicit_namespaces = implicit_namespaces

    def create(
        self, kind: Kind, namespace: str | None, body: Any, params: Mapping[str, str]
    ) -> Written:
        obj = lifecycle.prepare_create(kind, lifecycle.envelope(kind, body), namespace)
        meta, key = obj["metadata"], kind.storage_key
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = lifecycle.generate_name(meta["generateName"])
            while self._store.get(key, meta.get("namespace"), meta["name"]):
                meta["name"] = lifecycle.generate_name(meta["generateName"])
        warnings = lifecycle.apply_schema(kind, obj, validation=params.get("fieldValidation"))
        if key == CRDS:
            kinds.from_crd(obj)  # refuse a malformed CRD before storing it
            obj["status"] = kinds.crd_status(obj, lifecycle.now())
        if key == NAMESPACES:
            obj["status"] = {"phase": "Active"}
        if self._store.get(key, meta.get("namespace"), meta["name"]) is not None:
            raise errors.already_exists(
                kind.qualified, meta["name"], group=kind.group, plural=kind.plural
            )
        dry_run = _dry_run(params)
        if kind.namespaced and self._store.get(NAMESPACES, None, meta["namespace"]) is None:
            if not self._implicit_namespaces:
                raise errors.not_found(
                    "namespaces", meta["namespace"], group="", plural="namespaces"
                )
            if not dry_run:
                self.ensure_namespace(meta["namespace"])
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = lifecycle.now()
        meta["generation"] = 1
        if dry_run:
            return obj, warnings
        if key in EVENTS and self._store.count(key) >= self._event_limit:
            oldest = self._store.oldest(key)
            if oldest is not None:
                self._remove(key, oldest)
        meta["resourceVersion"] = str(self._store.next_revision())
        self._store.put(key, obj, type="ADDED")
        if key == CRDS:
            self._on_crd(obj, False)
        return obj, warnings

    def update(
        self,
        kind: Kind,
        old: Obj,
        candidate: Obj,
        params: Mapping[str, str],
        *,
        subresource: str | None,
    ) -> Written:
        """Finish a PUT or a PATCH: preconditions, ownership, schema, generation, events."""
        old_meta, key = old["metadata"], kind.storage_key
        wanted_version = (candidate.get("metadata") or {}).get("resourceVersion")
        if wanted_version not in (None, "", old_meta["resourceVersion"]):
            raise kind.conflict(old_meta["name"])
        new = lifecycle.prepare_update(kind, old, candidate, subresource=subresource)
        warnings = lifecycle.apply_schema(kind, new, validation=params.get("fieldValidation"))
        if key == CRDS:
            kinds.from_crd(new)  # refuse a malformed CRD before storing it
            conditions = (old.get("status") or {}).get("conditions") or [{}]
            since = conditions[0].get("lastTransitionTime") or lifecycle.now()
            new["status"] = kinds.crd_status(new, since)
        new_meta = new["metadata"]
        new_meta["resourceVersion"] = old_meta["resourceVersion"]
        changed = lifecycle.spec_of(kind, old) != lifecycle.spec_of(kind, new)
        new_meta["generation"] = old_meta.get("generation", 1) + (1 if changed else 0)
        if lifecycle.same(old, new):
            return old, warnings  # the real server writes nothing and tells no watcher
        if _dry_run(params):
            return new, warnings
        new_meta["resourceVersion"] = str(self._store.next_revision())
        if new_meta.get("deletionTimestamp") and not new_meta.get("finalizers"):
            self._store.remove(key, new)
            self._after_removal(key, new)
            return new, warnings
        self._store.put(key, new, type="MODIFIED", old=old)
        if key == CRDS:
            self._on_crd(new, False)
        return new, warnings

    def delete(self, kind: Kind, old: Obj, options: Mapping[str, Any], *, dry_run: bool) -> Obj:
        preconditions = options.get("preconditions") or {}
        meta = old["metadata"]
        for field in ("uid", "resourceVersion"):
            expected = preconditions.get(field)
            if expected is not None and expected != meta.get(field):
                why = (
                    f"Precondition failed: {field} in precondition: {expected}, "
                    f"{field} in object meta: {meta.get(field)}"
                )
                raise kind.conflict(meta["name"], why)
        if dry_run or "All" in (options.get("dryRun") or ()):
            return old
        return self.terminate(kind.storage_key, old)

    def terminate(self, key: StorageKey, old: Obj) -> Obj:
        """Delete now, or mark for deletion while finalizers remain."""
        meta = old["metadata"]
        if self._store.get(key, meta.get("namespace"), meta["name"]) is not old:
            return old  # already gone (or replaced) during a cascade
        if not meta.get("finalizers"):
            return self._remove(key, old)
        if meta.get("deletionTimestamp"):
            return old
        new = copy.deepcopy(old)
        new["metadata"]["deletionTimestamp"] = lifecycle.now()
        new["metadata"]["resourceVersion"] = str(self._store.next_revision())
        self._store.put(key, new, type="MODIFIED", old=old)
        return new

    def purge(self, key: StorageKey) -> None:
        """Remove every object of a resource at once, finalizers or not (its CRD is gone)."""
        for obj in list(self._store.objects(key)):
            self._remove(key, obj)

    def rescale(self, kind: Kind, old: Obj, scale: Any, params: Mapping[str, str]) -> Obj:
        """Write a Scale's replicas through to the object's `specReplicasPath`."""
        replicas = scaling.replicas_of(scale)
        if replicas is None:
            detail = "must be greater than or equal to 0"
            error = errors.FieldError("spec.replicas", "Invalid value", detail, replicas)
            raise errors.invalid("Scale", "autoscaling", old["metadata"]["name"], [error])
        candidate = copy.deepcopy(old)
        scaling.set_path(candidate, scaling.spec_path(kind.scale or {}), replicas)
        version = (scale.get("metadata") or {}).get("resourceVersion")
        candidate["metadata"]["resourceVersion"] = version
        new, _ = self.update(kind, old, candidate, params, subresource=None)
        return scaling.scale_of(new, kind.scale or {})

    def ensure_namespace(self, name: str) -> None:
        if self._store.get(NAMESPACES, None, name) is None:
            self.create(self._namespace_kind, None, {"metadata": {"name": name}}, {})

    def _remove(self, key: StorageKey, old: Obj) -> Obj:
        new = copy.deepcopy(old)
        new["metadata"]["resourceVersion"] = str(self._store.next_revision())
        self._store.remove(key, new)
        self._after_removal(key, new)
        return new

    def _after_removal(self, key: StorageKey, obj: Obj) -> None:
        for dependent_key, dependent in self._store.orphans(obj["metadata"].get("uid", "")):
            self.terminate(dependent_key, dependent)
        if key == NAMESPACES:
            for held_key, held in self._store.in_namespace(obj["metadata"]["name"]):
                self.terminate(held_key, held)
        if key == CRDS:
            self._on_crd(obj, True)


def _dry_run(params: Mapping[str, str]) -> bool:
    return params.get("dryRun") == "All"
