"""Server-side printing for `kubectl get`: `meta.k8s.io` Tables and partial object metadata.

As the real API server does for custom resources: the Name column comes first, then the CRD's
`additionalPrinterColumns`, or Age alone when the CRD declares none; dates are printed as ages.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Iterable, Mapping
from typing import Any

from sprite_orchestrator.devserver import jsonpath
from sprite_orchestrator.devserver.kinds import Kind

Obj = dict[str, Any]
_NAME_COLUMN = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name must be unique within a namespace. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
    "priority": 0,
}
_AGE_COLUMN = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


@dataclasses.dataclass(frozen=True)
class Rendering:
    """What the Accept header asked for instead of plain objects."""

    as_: str  # "Table", "PartialObjectMetadata", "PartialObjectMetadataList"
    version: str  # of meta.k8s.io: "v1" or "v1beta1"


def negotiate(accept: str | None) -> Rendering | None:
    """The first acceptable rendering in the client's order; `None` means plain JSON."""
    for media in (accept or "").split(","):
        kind, *params = (part.strip() for part in media.split(";"))
        options = dict(p.split("=", 1) for p in params if "=" in p)
        as_ = options.get("as")
        if as_ is None:
            if kind in ("application/json", "*/*", "application/*", ""):
                return None
            continue
        meta = options.get("g") == "meta.k8s.io" and options.get("v") in ("v1", "v1beta1")
        if meta and as_ in ("Table", "PartialObjectMetadata", "PartialObjectMetadataList"):
            return Rendering(as_, options["v"])
    return None


def partial(obj: Mapping[str, Any], version: str) -> Obj:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": obj.get("metadata", {}),
    }


def table(
    kind: Kind,
    objects: Iterable[Mapping[str, Any]],
    *,
    version: str,
    include: str | None,
    revision: int | None,
    now: datetime.datetime,
) -> Obj:
    """A Table of objects; `include` is the `includeObject` parameter (Metadata by default)."""
    columns = list(kind.columns) if kind.custom else []
    if not columns:
        columns = [_AGE_COLUMN]
    rows = []
    for obj in objects:
        row: Obj = {"cells": [obj.get("metadata", {}).get("name")]}
        row["cells"] += [_cell(column, obj, now) for column in columns]
        if include == "Object":
            row["object"] = obj
        elif include != "None":
            row["object"] = partial(obj, version)
        rows.append(row)
    definitions = [_NAME_COLUMN] + [
        {
            "name": column.get("name", ""),
            "type": column.get("type", "string"),
            "format": column.get("format", ""),
            "description": column.get("description", ""),
            "priority": column.get("priority", 0),
        }
        for column in columns
    ]
    metadata: Obj = {} if revision is None else {"resourceVersion": str(revision)}
    return {
        "kind": "Table",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": metadata,
        "columnDefinitions": definitions,
        "rows": rows,
    }


def _cell(column: Mapping[str, Any], obj: Mapping[str, Any], now: datetime.datetime) -> Any:
    try:
        found = jsonpath.find(str(column.get("jsonPath", "")), obj)
    except jsonpath.JSONPathError:
        return None
    if not found or found[0] is None:
        return None
    value, type_ = found[0], column.get("type", "string")
    if type_ == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if type_ == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if type_ == "boolean" and isinstance(value, bool):
        return value
    if type_ == "date" and isinstance(value, str):
        return age(value, now)
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def age(timestamp: str, now: datetime.datetime) -> str:
    try:
        then = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp
    if then.tzinfo is None:
        then = then.replace(tzinfo=datetime.UTC)
    return human_duration((now - then).total_seconds())


def human_duration(seconds: float) -> str:
    """Go's `duration.HumanDuration`, so ages read as they do against a real cluster."""
    if seconds < -1:
        return "<invalid>"
    total = max(int(seconds), 0)
    minutes, hours, days = total // 60, total // 3600, total // 86400
    if total < 120:
        return f"{total}s"
    if minutes < 10:
        rest = total % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years = days // 365
    if hours < 24 * 365 * 8:
        rest = days % 365
        return f"{years}y{rest}d" if rest else f"{years}y"
    return f"{years}y"
