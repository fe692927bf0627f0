"""The patch formats of the API: JSON merge-patch, JSON patch, and strategic merge (approximated).

All functions take ownership of the target and may modify it in place: pass a copy.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
APPLY_CBOR = "application/apply-patch+cbor"
ACCEPTED = (JSON_PATCH, MERGE, STRATEGIC, APPLY)


class PatchError(Exception):
    """The patch cannot be applied to this document (a path is missing, an op is malformed)."""


class PreconditionFailed(PatchError):
    """A `test` op did not match: for kopf, a sign that its view of the object is stale."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, `null` deletes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: dict[str, Any] = target if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """A merge-patch minus the `$`-directives: lists are replaced, not merged by keys.

    Good enough for our kinds (no patch-merge-keys in their schemas) and for kubectl's
    client-side apply of plain objects like ConfigMaps.
    """
    return merge_patch(target, _strip_directives(patch))


def _strip_directives(patch: Any) -> Any:
    if isinstance(patch, dict):
        if patch.get("$patch") == "delete":
            return None
        return {k: _strip_directives(v) for k, v in patch.items() if not k.startswith("$")}
    return patch


def json_patch(target: Any, ops: Any) -> Any:
    """RFC 6902: add, remove, replace, move, copy, test (a failed test: `PreconditionFailed`)."""
    if not isinstance(ops, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = target
    for op in ops:
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            raise PatchError(f"malformed JSON patch operation: {op!r}")
        name, path = op.get("op"), _pointer(op["path"])
        if name == "test":
            if not _json_equal(_get(doc, path), op.get("value")):
                raise PreconditionFailed(f"testing value {op['path']} failed")
        elif name == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif name == "remove":
            doc, _ = _remove(doc, path)
        elif name == "replace":
            doc, _ = _remove(doc, path)
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif name in ("move", "copy"):
            if not isinstance(op.get("from"), str):
                raise PatchError(f"'from' is required for {name}")
            source = _pointer(op["from"])
            if name == "move":
                doc, value = _remove(doc, source)
            else:
                value = copy.deepcopy(_get(doc, source))
            doc = _add(doc, path, value)
        else:
            raise PatchError(f"unknown JSON patch operation: {name!r}")
    return doc


def _pointer(text: str) -> list[str]:
    if text == "":
        return []
    if not text.startswith("/"):
        raise PatchError(f"a JSON pointer must start with '/': {text!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in text[1:].split("/")]


def _index(container: list[Any], key: str, *, end_ok: bool) -> int:
    if key == "-" and end_ok:
        return len(container)
    if not key.isdigit() or (len(key) > 1 and key.startswith("0")):
        raise PatchError(f"not a list index: {key!r}")
    index = int(key)
    if index > len(container) or (index == len(container) and not end_ok):
        raise PatchError(f"list index out of range: {index}")
    return index


def _get(doc: Any, path: Sequence[str]) -> Any:
    for key in path:
        if isinstance(doc, dict) and key in doc:
            doc = doc[key]
        elif isinstance(doc, list):
            doc = doc[_index(doc, key, end_ok=False)]
        else:
            raise PatchError(f"path not found: /{'/'.join(path)}")
    return doc


def _add(doc: Any, path: Sequence[str], value: Any) -> Any:
    if not path:
        return value
    parent = _get(doc, path[:-1])
    key = path[-1]
    if isinstance(parent, dict):
        parent[key] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, key, end_ok=True), value)
    else:
        raise PatchError(f"cannot add to a scalar at /{'/'.join(path)}")
    return doc


def _remove(doc: Any, path: Sequence[str]) -> tuple[Any, Any]:
    if not path:
        return None, doc
    parent = _get(doc, path[:-1])
    key = path[-1]
    if isinstance(parent, dict) and key in parent:
        return doc, parent.pop(key)
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, key, end_ok=False))
    raise PatchError(f"path not found: /{'/'.join(path)}")


def _json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON sees it: `true` is not `1`."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


class UnsupportedPatch(PatchError):
    """A content type that is no patch format we know."""


def apply(content_type: str, target: Any, patch: Any) -> dict[str, Any]:
    """Apply a patch of the request's content type; the result must still be an object.

    Server-side apply is approximated by a merge of the applied object: fields it stops
    mentioning are not removed, as there is no record of field managers here.
    """
    if content_type == JSON_PATCH:
        result = json_patch(target, patch)
    elif content_type in (MERGE, APPLY, "application/json"):
        result = merge_patch(target, patch)
    elif content_type == STRATEGIC:
        result = strategic_merge_patch(target, patch)
    else:
        raise UnsupportedPatch(content_type)
    if not isinstance(result, dict):
        raise PatchError("the patch does not result in an object")
    return result
