"""OpenAPI documents for kubectl, built from the served kinds and the CRDs' schemas.

kubectl 1.32 decides how to validate from the v3 document of the object's group-version: when
the PATCH operation of that kind lists the `fieldValidation` query parameter, it sends
`fieldValidation=Strict` and leaves validation to the server (which refuses unknown fields,
naming them); otherwise it validates client-side against `/openapi/v2`. We advertise the
parameter, as a real server does. v2 is served too, for older kubectl and `kubectl explain`.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sprite_orchestrator.devserver.kinds import Kind

Doc = dict[str, Any]
META = "io.k8s.apimachinery.pkg.apis.meta.v1"
_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json")
_APPLY_TYPE = "application/apply-patch+yaml"
_V2_STRIPPED = {
    "nullable",
    "default",
    "enum",
    "format",
    "maximum",
    "minimum",
    "exclusiveMaximum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "maxProperties",
    "minProperties",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "x-kubernetes-validations",
}


def definition_name(kind: Kind) -> str:
    """Names as the real server's: `dev.orchestrator.v1alpha1.WorkerPool`, `io.k8s.api.core…`."""
    if kind.custom:
        return ".".join([*reversed(kind.group.split(".")), kind.version, kind.kind])
    if kind.group == "apiextensions.k8s.io":
        return f"io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.{kind.version}.{kind.kind}"
    group = kind.group.split(".")[0] if kind.group else "core"
    return f"io.k8s.api.{group}.{kind.version}.{kind.kind}"


def gv_path(group: str, version: str) -> str:
    """The key of a group-version in the v3 index: `api/v1`, `apis/orchestrator.dev/v1alpha1`."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def digest(doc: Mapping[str, Any]) -> str:
    return hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest().upper()


def v3_index(documents: Mapping[str, Mapping[str, Any]]) -> Doc:
    """`/openapi/v3`: one entry per group-version, with a hash that changes with the content."""
    paths = {
        path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest(doc)}"}
        for path, doc in sorted(documents.items())
    }
    return {"paths": paths}


def v3_documents(kinds: Iterable[Kind]) -> dict[str, Doc]:
    """Every group-version's v3 document, keyed by its index path."""
    by_gv: dict[str, list[Kind]] = {}
    for kind in kinds:
        by_gv.setdefault(gv_path(kind.group, kind.version), []).append(kind)
    return {path: v3_document(served) for path, served in by_gv.items()}


def v3_document(kinds: Sequence[Kind]) -> Doc:
    schemas: Doc = _meta_schemas()
    paths: Doc = {}
    for kind in kinds:
        ref = {"$ref": f"#/components/schemas/{definition_name(kind)}"}
        list_ref = {"$ref": f"#/components/schemas/{definition_name(kind)}List"}
        schemas[definition_name(kind)] = _kind_schema(kind, "#/components/schemas/", v2=False)
        schemas[definition_name(kind) + "List"] = _list_schema(kind, ref, "#/components/schemas/")
        paths.update(_paths(kind, ref, list_ref))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def v2_document(kinds: Iterable[Kind]) -> Doc:
    definitions: Doc = _meta_schemas()
    for kind in kinds:
        if kind.custom:
            ref = {"$ref": f"#/definitions/{definition_name(kind)}"}
            definitions[definition_name(kind)] = _kind_schema(kind, "#/definitions/", v2=True)
            definitions[definition_name(kind) + "List"] = _list_schema(kind, ref, "#/definitions/")
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": {},
        "definitions": definitions,
    }


def _gvk(kind: Kind, suffix: str = "") -> Doc:
    return {"group": kind.group, "version": kind.version, "kind": kind.kind + suffix}


def _kind_schema(kind: Kind, prefix: str, *, v2: bool) -> Doc:
    schema: Doc = copy.deepcopy(dict(kind.schema)) if kind.schema else {}
    if not kind.custom:
        schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    if v2:
        schema = _strip_for_v2(schema)
    properties = schema.setdefault("properties", {})
    schema.setdefault("type", "object")
    properties["apiVersion"] = {"type": "string", "description": "The versioned schema."}
    properties["kind"] = {"type": "string", "description": "The REST resource's kind."}
    meta_ref = f"{prefix}{META}.ObjectMeta"
    properties["metadata"] = {"$ref": meta_ref} if v2 else {"allOf": [{"$ref": meta_ref}]}
    schema["x-kubernetes-group-version-kind"] = [_gvk(kind)]
    return schema


def _list_schema(kind: Kind, item_ref: Mapping[str, str], prefix: str) -> Doc:
    return {
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "items": {"type": "array", "items": dict(item_ref)},
            "metadata": {"$ref": f"{prefix}{META}.ListMeta"},
        },
        "x-kubernetes-group-version-kind": [_gvk(kind, "List")],
    }


def _strip_for_v2(schema: Any) -> Any:
    """As the real server publishes CRDs in v2: structure only, no value validations."""
    if isinstance(schema, dict):
        return {k: _strip_for_v2(v) for k, v in schema.items() if k not in _V2_STRIPPED}
    if isinstance(schema, list):
        return [_strip_for_v2(item) for item in schema]
    return schema


def _meta_schemas() -> Doc:
    strings = {"type": "object", "additionalProperties": {"type": "string"}}
    object_meta = {
        "type": "object",
        "description": "Standard object's metadata.",
        "properties": {
            "name": {"type": "string"},
            "generateName": {"type": "string"},
            "namespace": {"type": "string"},
            "uid": {"type": "string"},
            "resourceVersion": {"type": "string"},
            "generation": {"type": "integer", "format": "int64"},
            "creationTimestamp": {"type": "string", "format": "date-time"},
            "deletionTimestamp": {"type": "string", "format": "date-time"},
            "labels": strings,
            "annotations": strings,
            "finalizers": {"type": "array", "items": {"type": "string"}},
            "ownerReferences": {
                "type": "array",
                "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
            "managedFields": {
                "type": "array",
                "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        },
    }
    list_meta = {
        "type": "object",
        "properties": {
            "resourceVersion": {"type": "string"},
            "continue": {"type": "string"},
            "remainingItemCount": {"type": "integer", "format": "int64"},
        },
    }
    return {f"{META}.ObjectMeta": object_meta, f"{META}.ListMeta": list_meta}


def _param(name: str, where: str = "query", *, required: bool = False) -> Doc:
    param: Doc = {"name": name, "in": where, "schema": {"type": "string", "uniqueItems": True}}
    if required:
        param["required"] = True
    return param


_WRITE_PARAMS = [_param("dryRun"), _param("fieldManager"), _param("fieldValidation")]
_LIST_PARAMS = [
    _param(name)
    for name in ("labelSelector", "fieldSelector", "limit", "continue", "resourceVersion")
] + [_param("watch"), _param("timeoutSeconds"), _param("allowWatchBookmarks")]


def _operation(
    kind: Kind,
    action: str,
    name: str,
    response: Mapping[str, str],
    *,
    params: Sequence[Doc] = (),
    body: Mapping[str, str] | None = None,
    body_types: Sequence[str] = ("application/json",),
) -> Doc:
    op: Doc = {
        "operationId": name,
        "parameters": list(params),
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": response}}}
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(kind),
    }
    if body is not None:
        op["requestBody"] = {
            "content": {media: {"schema": dict(body)} for media in body_types},
            "required": True,
        }
    return op


def _paths(kind: Kind, ref: Mapping[str, str], list_ref: Mapping[str, str]) -> Doc:
    prefix = f"/apis/{kind.group}/{kind.version}" if kind.group else f"/api/{kind.version}"
    scope = "Namespaced" if kind.namespaced else ""
    base = f"{prefix}/namespaces/{{namespace}}/{kind.plural}" if kind.namespaced else None
    collection = base or f"{prefix}/{kind.plural}"
    ns_params = [_param("namespace", "path", required=True)] if kind.namespaced else []
    patch_types = (*_PATCH_TYPES, _APPLY_TYPE)
    paths: Doc = {}
    verbs = kind.verbs
    coll: Doc = {"parameters": ns_params}
    if "list" in verbs:
        coll["get"] = _operation(
            kind, "list", f"list{scope}{kind.kind}", list_ref, params=_LIST_PARAMS
        )
    if "create" in verbs:
        coll["post"] = _operation(
            kind, "post", f"create{scope}{kind.kind}", ref, params=_WRITE_PARAMS, body=ref
        )
    paths[collection] = coll
    if kind.namespaced and "list" in verbs:
        paths[f"{prefix}/{kind.plural}"] = {
            "get": _operation(kind, "list", f"list{kind.kind}ForAllNamespaces", list_ref)
        }
    item: Doc = {"parameters": [_param("name", "path", required=True), *ns_params]}
    for sub in ("", "status") if kind.has_status else ("",):
        suffix = sub.capitalize()
        ops: Doc = dict(item)
        if "get" in verbs:
            ops["get"] = _operation(kind, "get", f"read{scope}{kind.kind}{suffix}", ref)
        if "update" in verbs:
            ops["put"] = _operation(
                kind,
                "put",
                f"replace{scope}{kind.kind}{suffix}",
                ref,
                params=_WRITE_PARAMS,
                body=ref,
            )
        if "patch" in verbs:
            ops["patch"] = _operation(
                kind,
                "patch",
                f"patch{scope}{kind.kind}{suffix}",
                ref,
                params=[*_WRITE_PARAMS, _param("force")],
                body={"type": "object"},
                body_types=patch_types,
            )
        if "delete" in verbs and not sub:
            ops["delete"] = _operation(kind, "delete", f"delete{scope}{kind.kind}", ref)
        paths[f"{collection}/{{name}}" + (f"/{sub}" if sub else "")] = ops
    return paths
