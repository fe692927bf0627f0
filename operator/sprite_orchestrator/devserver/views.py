"""How objects are shown: at the requested version, as lists, pages, Tables, or metadata only.

Objects are stored once per resource, so each is served with the apiVersion it was asked at
(the CRD's versions share one schema here: no conversion). The Accept header may ask for a
`meta.k8s.io` Table (kubectl get) or PartialObjectMetadata instead of the objects.
"""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Iterable, Mapping
from typing import Any

from sprite_orchestrator.devserver import errors, tables
from sprite_orchestrator.devserver.kinds import Kind

Obj = dict[str, Any]


def served(kind: Kind, obj: Obj) -> Obj:
    if obj.get("apiVersion") == kind.api_version:
        return obj
    return {**obj, "apiVersion": kind.api_version}


def one(kind: Kind, obj: Obj, *, accept: str | None, params: Mapping[str, str]) -> Obj:
    """One object (a GET, or a watch event's object) as the client asked to see it."""
    obj = served(kind, obj)
    wanted = tables.negotiate(accept)
    if wanted is not None and wanted.as_ == "Table":
        now = datetime.datetime.now(datetime.UTC)
        include = params.get("includeObject")
        return tables.table(
            kind, [obj], version=wanted.version, include=include, revision=None, now=now
        )
    if wanted is not None:
        return tables.partial(obj, wanted.version)
    return obj


def many(
    kind: Kind,
    objects: Iterable[Obj],
    *,
    accept: str | None,
    params: Mapping[str, str],
    revision: int,
) -> Obj:
    """A list (or one page of it) as the client asked to see it."""
    meta: Obj = {"resourceVersion": str(revision)}
    items = paginate(params, [served(kind, obj) for obj in objects], meta)
    wanted = tables.negotiate(accept)
    if wanted is not None and wanted.as_ == "Table":
        now = datetime.datetime.now(datetime.UTC)
        include = params.get("includeObject")
        doc = tables.table(
            kind, items, version=wanted.version, include=include, revision=revision, now=now
        )
        return {**doc, "metadata": meta}
    if wanted is not None:
        partials = [tables.partial(obj, wanted.version) for obj in items]
        api_version = f"meta.k8s.io/{wanted.version}"
        return {
            "kind": "PartialObjectMetadataList",
            "apiVersion": api_version,
            "metadata": meta,
            "items": partials,
        }
    return {
        "apiVersion": kind.api_version,
        "kind": f"{kind.kind}List",
        "metadata": meta,
        "items": items,
    }


def paginate(params: Mapping[str, str], items: list[Obj], meta: Obj) -> list[Obj]:
    """`limit` and `continue`: the token is the position after the last item served."""
    start = 0
    token = params.get("continue")
    if token:
        try:
            start = int(json.loads(base64.urlsafe_b64decode(token.encode()))["start"])
        except (ValueError, KeyError, TypeError):
            message = "the provided continue parameter is too old"
            raise errors.ApiError(410, "Expired", message) from None
    limit = params.get("limit")
    try:
        size = int(limit) if limit else 0
    except ValueError:
        raise errors.bad_request(f"invalid limit: {limit!r}") from None
    if size <= 0:
        return items[start:]
    page = items[start : start + size]
    rest = len(items) - start - len(page)
    if rest > 0:
        token_doc = json.dumps({"start": start + size}).encode()
        meta["continue"] = base64.urlsafe_b64encode(token_doc).decode()
        meta["remainingItemCount"] = rest
    return page
