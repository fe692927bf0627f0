"""The `scale` subresource of CRDs that declare one, so that `kubectl scale` works."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Obj = dict[str, Any]
_META = ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")


def get_path(obj: Mapping[str, Any], path: str) -> Any:
    """A value at a CRD's simple JSON path (`.spec.replicas`), None when absent."""
    value: Any = obj
    for part in path.strip(".").split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def set_path(obj: Obj, path: str, value: Any) -> None:
    *parents, last = path.strip(".").split(".")
    for part in parents:
        obj = obj.setdefault(part, {})
    obj[last] = value


def spec_path(paths: Mapping[str, Any]) -> str:
    return str(paths.get("specReplicasPath", ".spec.replicas"))


def scale_of(obj: Obj, paths: Mapping[str, Any]) -> Obj:
    """The autoscaling/v1 Scale view of an object, per the CRD's `subresources.scale` paths."""
    meta = obj["metadata"]
    status_path = str(paths.get("statusReplicasPath", ".status.replicas"))
    status: Obj = {"replicas": get_path(obj, status_path) or 0}
    if paths.get("labelSelectorPath"):
        selector = get_path(obj, str(paths["labelSelectorPath"]))
        if selector:
            status["selector"] = selector
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {key: meta[key] for key in _META if key in meta},
        "spec": {"replicas": get_path(obj, spec_path(paths)) or 0},
        "status": status,
    }


def replicas_of(scale: Any) -> int | None:
    """The wanted replicas of a Scale body, or None if it is not a count."""
    replicas = (scale.get("spec") or {}).get("replicas") if isinstance(scale, dict) else None
    if isinstance(replicas, int) and not isinstance(replicas, bool) and replicas >= 0:
        return replicas
    return None
