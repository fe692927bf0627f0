"""The emulator's pure parts: JSONPath, patches, selectors, schemas, routes, tables, protobuf."""

from __future__ import annotations

import base64
import datetime
from typing import Any

import pytest

from sprite_orchestrator.devserver import (
    jsonpath,
    patching,
    protobuf,
    routes,
    schemas,
    selectors,
    tables,
)
from sprite_orchestrator.devserver.kinds import Kind, preferred

pytestmark = pytest.mark.timeout(5)
POOL = {
    "metadata": {"creationTimestamp": "2024-01-01T00:00:00Z", "labels": {"a.b/c": "x"}},
    "spec": {"provider": {"type": "SSH"}, "hosts": [{"n": "h1"}, {"n": "h2"}]},
    "status": {
        "readyReplicas": 3,
        "conditions": [
            {"type": "Scaled", "status": "False", "count": 1},
            {"type": "Ready", "status": "True", "reason": "Fine", "count": 5},
        ],
    },
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (".status.readyReplicas", [3]),
        (".spec.provider.type", ["SSH"]),
        (".status.conditions[?(@.type=='Ready')].status", ["True"]),
        ('.status.conditions[?(@.type=="Ready")].reason', ["Fine"]),
        (".status.conditions[?(@.type!='Ready')].type", ["Scaled"]),
        (".status.conditions[?(@.count > 2)].type", ["Ready"]),
        (".status.conditions[?(@.reason)].type", ["Ready"]),
        (".metadata.creationTimestamp", ["2024-01-01T00:00:00Z"]),
        ("{.spec.hosts[*].n}", ["h1", "h2"]),
        (".spec.hosts[-1].n", ["h2"]),
        ("$.metadata.labels['a.b/c']", ["x"]),
        (".spec.missing.deeper", []),
        (".status.conditions[?(@.type=='Nope')].status", []),
    ],
)
def test_jsonpath(expression: str, expected: list[Any]) -> None:
    assert jsonpath.find(expression, POOL) == expected


@pytest.mark.parametrize("expression", [".a[?(@.x ~ 1)]", ".a[1:2]", "a.b", ".a[(@.x)]"])
def test_jsonpath_refuses_what_it_cannot_evaluate(expression: str) -> None:
    with pytest.raises(jsonpath.JSONPathError):
        jsonpath.parse(expression)


def test_merge_patch_is_rfc_7386() -> None:
    target = {"a": {"b": 1, "c": 2}, "l": [1, 2], "keep": True}
    patched = patching.merge_patch(target, {"a": {"b": None, "d": 3}, "l": [3], "new": {"x": 1}})
    assert patched == {"a": {"c": 2, "d": 3}, "l": [3], "keep": True, "new": {"x": 1}}


def test_strategic_merge_patch_drops_directives() -> None:
    patch = {
        "spec": {"$setElementOrder/x": [{"n": 1}], "x": [{"n": 1}], "gone": {"$patch": "delete"}}
    }
    assert patching.strategic_merge_patch({"spec": {"gone": {"a": 1}}}, patch) == {
        "spec": {"x": [{"n": 1}]}
    }


def test_json_patch_is_rfc_6902() -> None:
    doc = {"metadata": {"annotations": {"a/b": "1"}, "finalizers": ["f1", "f2"]}, "l": [1]}
    ops = [
        {"op": "test", "path": "/metadata/annotations/a~1b", "value": "1"},
        {"op": "remove", "path": "/metadata/finalizers/0"},
        {"op": "add", "path": "/l/-", "value": 2},
        {"op": "add", "path": "/l/0", "value": 0},
        {"op": "replace", "path": "/metadata/annotations/a~1b", "value": "2"},
        {"op": "copy", "from": "/l", "path": "/copied"},
        {"op": "move", "from": "/copied", "path": "/moved"},
    ]
    assert patching.json_patch(doc, ops) == {
        "metadata": {"annotations": {"a/b": "2"}, "finalizers": ["f2"]},
        "l": [0, 1, 2],
        "moved": [0, 1, 2],
    }


@pytest.mark.parametrize(
    ("ops", "error"),
    [
        ([{"op": "test", "path": "/v", "value": 1}], patching.PreconditionFailed),
        ([{"op": "test", "path": "/v", "value": True}], patching.PreconditionFailed),
        ([{"op": "remove", "path": "/missing"}], patching.PatchError),
        ([{"op": "replace", "path": "/l/5", "value": 1}], patching.PatchError),
        ([{"op": "jump", "path": "/v"}], patching.PatchError),
        ({"op": "add"}, patching.PatchError),
    ],
)
def test_json_patch_failures(ops: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        patching.json_patch({"v": 2, "l": []}, ops)


def test_selectors() -> None:
    obj = {"metadata": {"name": "n", "namespace": "ns", "labels": {"app": "a", "tier": "web"}}}
    matching = ["app=a", "app==a", "app in (a, b)", "tier,app notin (c)", "!gone", "app!=b", ""]
    for text in matching:
        assert selectors.parse(text, None).matches(obj), text
    for text in ["app=b", "app in (b)", "gone", "!tier", "app notin (a)"]:
        assert not selectors.parse(text, None).matches(obj), text
    assert selectors.parse(None, "metadata.name=n,metadata.namespace!=x").matches(obj)
    assert not selectors.parse(None, "metadata.namespace=other").matches(obj)
    with pytest.raises(selectors.SelectorError):
        selectors.parse("a in b", None)


def test_schemas_prune_default_and_name_fields() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["n"],
                "properties": {
                    "n": {"type": "integer", "maximum": 3},
                    "d": {"type": "string", "default": "dflt"},
                    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    "items": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"k": {"type": "string"}}},
                    },
                },
            }
        },
    }
    obj: dict[str, Any] = {
        "apiVersion": "x/v1",
        "kind": "X",
        "metadata": {"name": "x", "anything": 1},
        "spec": {"n": 9, "junk": 1, "free": {"any": 1}, "items": [{"k": "v", "bad": 2}]},
        "other": 1,
    }
    assert schemas.normalize(obj, schema) == ["spec.junk", "spec.items[0].bad", "other"]
    assert obj["spec"] == {"n": 9, "free": {"any": 1}, "items": [{"k": "v"}], "d": "dflt"}
    assert obj["metadata"] == {"name": "x", "anything": 1}  # the envelope is the server's
    [error] = schemas.validate(obj, schema)
    assert str(error) == (
        "spec.n: Invalid value: 9: spec.n in body should be less than or equal to 3"
    )
    assert error.cause()["reason"] == "FieldValueInvalid"


def test_routes() -> None:
    assert routes.parse("/api/v1/namespaces") == routes.Route("", "v1", "namespaces")
    assert routes.parse("/api/v1/namespaces/ns") == routes.Route("", "v1", "namespaces", None, "ns")
    assert routes.parse("/api/v1/namespaces/ns/status").subresource == "status"
    assert routes.parse("/api/v1/namespaces/ns/pods/p/log") == routes.Route(
        "", "v1", "pods", "ns", "p", "log"
    )
    assert routes.parse("/apis/g.dev/v1/xs/n/status") == routes.Route(
        "g.dev", "v1", "xs", None, "n", "status"
    )
    assert routes.parse("/apis/g.dev") == routes.Route(group="g.dev")
    assert not routes.parse("/openapi/v3").is_api


def test_tables_negotiation_and_ages() -> None:
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io, application/json"
    assert tables.negotiate(accept) == tables.Rendering("Table", "v1")
    assert tables.negotiate("application/json") is None
    assert tables.negotiate(None) is None
    ages = [59, 119, 125, 600, 3 * 3600 + 60, 30 * 3600, 3 * 86400 + 3600, 400 * 86400]
    assert [tables.human_duration(s) for s in ages] == [
        "59s",
        "119s",
        "2m5s",
        "10m",
        "3h1m",
        "30h",
        "3d1h",
        "400d",
    ]
    kind = Kind("g", "v1", "xs", "X", "x", True, custom=True)
    now = datetime.datetime(2024, 1, 1, 0, 5, tzinfo=datetime.UTC)
    table = tables.table(kind, [POOL], version="v1", include=None, revision=7, now=now)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert table["rows"][0]["cells"] == [None, "5m"]


def test_version_preference() -> None:
    assert preferred(["v1beta1", "v1", "v2alpha1", "v1alpha1", "v2"]) == [
        "v2",
        "v1",
        "v1beta1",
        "v2alpha1",
        "v1alpha1",
    ]


def _field(number: int, payload: bytes) -> bytes:
    return bytes([number << 3 | 2, len(payload)]) + payload


def test_protobuf_configmaps_as_kubectl_sends_them() -> None:
    meta = _field(1, b"cm") + _field(11, _field(1, b"app") + _field(2, b"x"))
    config_map = _field(1, meta) + _field(2, _field(1, b"k") + _field(2, b"v"))
    config_map += _field(3, _field(1, b"bin") + _field(2, b"\x00\x01"))
    type_meta = _field(1, b"v1") + _field(2, b"ConfigMap")
    body = protobuf.MAGIC + _field(1, type_meta) + _field(2, config_map)
    assert protobuf.decode(body) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm", "labels": {"app": "x"}},
        "data": {"k": "v"},
        "binaryData": {"bin": base64.b64encode(b"\x00\x01").decode()},
    }
    with pytest.raises(protobuf.ProtobufError):
        protobuf.decode(
            protobuf.MAGIC + _field(1, _field(1, b"apps/v1") + _field(2, b"Deployment"))
        )
