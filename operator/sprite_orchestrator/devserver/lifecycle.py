"""The API server's rules for object metadata on create and update, as pure functions.

Who owns which field: the server owns uid, resourceVersion, creationTimestamp, generation and
deletionTimestamp; the status subresource owns `status` of kinds that declare it; the schema
decides what else survives (pruning, defaults) and what is refused.
"""

from __future__ import annotations

import copy
import datetime
import random
import re
from collections.abc import Mapping
from typing import Any

from sprite_orchestrator.devserver import errors, schemas
from sprite_orchestrator.devserver.kinds import Kind

Obj = dict[str, Any]
SERVER_OWNED = ("uid", "creationTimestamp", "deletionTimestamp", "generation", "resourceVersion")
IMMUTABLE = ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "generation")
# Empty collections in metadata are dropped, as Go's `omitempty` does on the real server.
_OMIT_EMPTY = ("labels", "annotations", "finalizers", "ownerReferences", "managedFields")
# The alphabet of the real server's generateName suffixes: no vowels, no look-alike digits.
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*"
    "[a-z0-9])?)*')"
)


def now() -> str:
    """Timestamps as the API server writes them: RFC 3339, seconds, UTC."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_name(prefix: str) -> str:
    return prefix + "".join(random.choices(_SUFFIX_ALPHABET, k=5))


def envelope(kind: Kind, body: Any) -> Obj:
    """Check the body is an object of this kind; fill in apiVersion and kind when absent."""
    if not isinstance(body, dict):
        raise errors.bad_request("the request body must be a JSON or YAML object")
    api_version, kind_name = str(body.get("apiVersion") or kind.api_version), body.get("kind")
    if api_version != kind.api_version and api_version.split("/")[0] != kind.group:
        raise errors.bad_request(
            f"the API version in the data ({api_version}) does not match the expected API "
            f"version ({kind.api_version})"
        )
    if kind_name not in (None, kind.kind):
        raise errors.bad_request(
            f"the kind in the data ({kind_name}) does not match the expected kind ({kind.kind})"
        )
    obj: Obj = {"apiVersion": kind.api_version, "kind": kind.kind, **body}
    obj["apiVersion"], obj["kind"] = kind.api_version, kind.kind
    if not isinstance(obj.setdefault("metadata", {}), dict):
        raise errors.bad_request("metadata must be an object")
    return obj


def clean_metadata(obj: Obj) -> None:
    meta = obj["metadata"]
    for key in _OMIT_EMPTY:
        if key in meta and not meta[key]:
            del meta[key]


def name_errors(kind: Kind, obj: Mapping[str, Any]) -> list[errors.FieldError]:
    """Custom resources need DNS subdomain names; builtins only names that fit in a path
    (some, like RBAC's `system:…` roles, allow more than a subdomain)."""
    name = obj["metadata"].get("name", "")
    if not name:
        detail = "name or generateName is required"
        return [errors.FieldError("metadata.name", "Required value", detail)]
    if kind.custom and (len(name) > 253 or not _DNS_SUBDOMAIN.match(name)):
        return [errors.FieldError("metadata.name", "Invalid value", _DNS_MESSAGE, name)]
    if name in (".", "..") or "/" in name or "%" in name:
        detail = "may not be '.' or '..' and may not contain '/' or '%'"
        return [errors.FieldError("metadata.name", "Invalid value", detail, name)]
    return []


def apply_schema(kind: Kind, obj: Obj, *, validation: str | None) -> list[str]:
    """Prune, default and validate against the kind's schema; return warnings for the client.

    `validation` is the request's `fieldValidation`: Strict refuses unknown fields (400, as
    the real server's strict decoding does), Ignore drops them silently, Warn (the default)
    drops them and warns.
    """
    problems = name_errors(kind, obj)
    unknown: list[str] = []
    if kind.schema:
        unknown = schemas.normalize(obj, kind.schema)
        if unknown and validation == "Strict":
            fields = ", ".join(f'unknown field "{path}"' for path in unknown)
            raise errors.bad_request(
                f'{kind.kind} in version "{kind.version}" cannot be handled as a {kind.kind}: '
                f"strict decoding error: {fields}"
            )
        problems += schemas.validate(obj, kind.schema)
    if problems:
        raise errors.invalid(kind.kind, kind.group, obj["metadata"].get("name", ""), problems)
    if validation == "Ignore":
        return []
    return [f'unknown field "{path}"' for path in unknown]


def spec_of(kind: Kind, obj: Mapping[str, Any]) -> dict[str, Any]:
    """What generation tracks: everything but metadata, and but status if it is a subresource."""
    skipped = ("metadata", "status") if kind.has_status else ("metadata",)
    return {key: value for key, value in obj.items() if key not in skipped}


def same(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether an update changes nothing: then the real server writes nothing and tells no one."""
    old_meta = {k: v for k, v in old["metadata"].items() if k != "resourceVersion"}
    new_meta = {k: v for k, v in new["metadata"].items() if k != "resourceVersion"}
    if old_meta != new_meta:
        return False
    return {k: v for k, v in old.items() if k != "metadata"} == {
        k: v for k, v in new.items() if k != "metadata"
    }


def prepare_create(kind: Kind, body: Obj, namespace: str | None) -> Obj:
    """Namespace, name and server-owned fields of a new object (before the schema)."""
    meta = body["metadata"]
    if kind.namespaced:
        if namespace and meta.get("namespace") not in (None, "", namespace):
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        meta["namespace"] = namespace or meta.get("namespace") or "default"
    else:
        meta.pop("namespace", None)
    for key in SERVER_OWNED:
        meta.pop(key, None)
    if kind.has_status:
        body.pop("status", None)  # create cannot set status, as on the real server
    clean_metadata(body)
    return body


def prepare_update(kind: Kind, old: Obj, candidate: Obj, *, subresource: str | None) -> Obj:
    """Merge an incoming full object with what the server and subresources own."""
    old_meta = old["metadata"]
    candidate["apiVersion"], candidate["kind"] = old["apiVersion"], old["kind"]
    if not isinstance(candidate.get("metadata"), dict):
        candidate["metadata"] = {}
    if subresource == "status":
        result = copy.deepcopy(old)
        if "status" in candidate:
            result["status"] = candidate["status"]
        else:
            result.pop("status", None)
        return result
    meta = candidate["metadata"]
    for key in IMMUTABLE:
        if key in old_meta:
            meta[key] = old_meta[key]
        else:
            meta.pop(key, None)
    if kind.has_status:
        if "status" in old:
            candidate["status"] = copy.deepcopy(old["status"])
        else:
            candidate.pop("status", None)
    if old_meta.get("deletionTimestamp"):
        added = set(meta.get("finalizers") or ()) - set(old_meta.get("finalizers") or ())
        if added:
            detail = (
                "no new finalizers can be added if the object is being deleted, "
                f"found new finalizers {sorted(added)}"
            )
            error = errors.FieldError("metadata.finalizers", "Forbidden", detail)
            raise errors.invalid(kind.kind, kind.group, old_meta["name"], [error])
    clean_metadata(candidate)
    return candidate
