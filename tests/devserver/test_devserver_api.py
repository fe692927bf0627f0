"""The emulated API through real clients: the official client and plain HTTP."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import aiohttp
import kubernetes.client
import pytest

from sprite_orchestrator.devserver.emulator import Emulator
from sprite_orchestrator.devserver.serving import serve
from tests.devserver.conftest import (
    GROUP,
    KIND,
    NS,
    PLURAL,
    VERSION,
    call,
    failure,
    gadget,
    gadget_crd,
)

pytestmark = pytest.mark.timeout(10)
BASE = f"/apis/{GROUP}/{VERSION}/namespaces/{NS}/{PLURAL}"
MERGE = {"Content-Type": "application/merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}


async def create(custom: Any, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    created: dict[str, Any] = await call(
        custom.create_namespaced_custom_object, GROUP, VERSION, NS, PLURAL, body, **kwargs
    )
    return created


async def read(custom: Any, name: str) -> dict[str, Any]:
    got: dict[str, Any] = await call(
        custom.get_namespaced_custom_object, GROUP, VERSION, NS, PLURAL, name
    )
    return got


async def patch(
    http: aiohttp.ClientSession, name: str, body: Any, *, sub: str = "", json_patch: bool = False
) -> tuple[int, dict[str, Any]]:
    url = f"{BASE}/{name}" + (f"/{sub}" if sub else "")
    headers = JSON_PATCH if json_patch else MERGE
    async with http.patch(url, data=json.dumps(body), headers=headers) as response:
        return response.status, await response.json()


async def test_create_sets_what_the_server_owns(custom: Any) -> None:
    body = gadget()
    body["metadata"]["uid"] = "mine"
    created = await create(custom, body)
    meta = created["metadata"]
    assert re.fullmatch(r"gd-[bcdfghjklmnpqrstvwxz2456789]{5}", meta["name"])
    assert meta["uid"] != "mine" and len(meta["uid"]) == 36
    assert meta["resourceVersion"].isdigit()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    assert meta["generation"] == 1
    assert created["spec"]["replicas"] == 1  # the schema's default


async def test_resource_versions_grow_and_generation_follows_spec(custom: Any, http: Any) -> None:
    first = await create(custom, gadget("g1"))
    second = await create(custom, gadget("g2"))
    assert int(second["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])

    _, labelled = await patch(http, "g1", {"metadata": {"labels": {"a": "b"}}})
    _, respec = await patch(http, "g1", {"spec": {"prompt": "again"}})
    _, restatus = await patch(http, "g1", {"status": {"phase": "Up"}}, sub="status")
    generations = [x["metadata"]["generation"] for x in (labelled, respec, restatus)]
    versions = [int(x["metadata"]["resourceVersion"]) for x in (labelled, respec, restatus)]
    assert generations == [1, 2, 2]
    assert versions == sorted(set(versions))


async def test_a_patch_that_changes_nothing_writes_nothing(custom: Any, http: Any) -> None:
    created = await create(custom, gadget("same"))
    _, patched = await patch(http, "same", {"spec": {"prompt": "hello"}})
    assert patched["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_stale_resource_version_conflicts(custom: Any, http: Any) -> None:
    created = await create(custom, gadget("cas"))
    stale = created["metadata"]["resourceVersion"]
    await patch(http, "cas", {"spec": {"prompt": "newer"}})

    status, body = await patch(http, "cas", {"metadata": {"resourceVersion": stale}}, sub="status")
    assert (status, body["reason"], body["code"]) == (409, "Conflict", 409)
    assert 'gadgets.test.devserver.dev "cas"' in body["message"]

    created["spec"]["prompt"] = "replaced"
    code, body = await failure(
        custom.replace_namespaced_custom_object, GROUP, VERSION, NS, PLURAL, "cas", created
    )
    assert (code, body["reason"]) == (409, "Conflict")


async def test_failed_json_patch_test_is_422_as_kopf_expects(custom: Any, http: Any) -> None:
    created = await create(custom, gadget("jp"))
    version = created["metadata"]["resourceVersion"]
    add = {"op": "add", "path": "/metadata/finalizers", "value": ["x.dev/f"]}
    wrong = [{"op": "test", "path": "/metadata/resourceVersion", "value": "999"}, add]
    status, body = await patch(http, "jp", wrong, json_patch=True)
    assert (status, body["reason"]) == (422, "Invalid")

    right = [{"op": "test", "path": "/metadata/resourceVersion", "value": version}, add]
    status, body = await patch(http, "jp", right, json_patch=True)
    assert status == 200 and body["metadata"]["finalizers"] == ["x.dev/f"]


async def test_status_subresource_owns_status_only(custom: Any, http: Any) -> None:
    body = gadget("st")
    body["status"] = {"phase": "Forged"}
    created = await create(custom, body)
    assert "status" not in created  # create cannot set status

    _, main = await patch(http, "st", {"status": {"phase": "Main"}, "spec": {"prompt": "p2"}})
    assert "status" not in main and main["spec"]["prompt"] == "p2"

    _, sub = await patch(
        http, "st", {"status": {"phase": "Up"}, "spec": {"prompt": "no"}}, sub="status"
    )
    assert sub["status"] == {"phase": "Up"} and sub["spec"]["prompt"] == "p2"
    assert sub["metadata"]["generation"] == 2


@pytest.mark.parametrize(
    ("spec", "field", "text"),
    [
        ({"prompt": None}, "spec.prompt", "spec.prompt: Required value"),
        ({"prompt": ""}, "spec.prompt", "should be at least 1 chars long"),
        ({"provider": {"type": "Cloud"}}, "spec.provider.type", 'Unsupported value: "Cloud"'),
        ({"replicas": 11}, "spec.replicas", "should be less than or equal to 10"),
        ({"replicas": "3"}, "spec.replicas", "must be of type integer"),
        (
            {"provider": {"type": "SSH", "hosts": [{"address": "ok", "port": 0}]}},
            "spec.provider.hosts[0].port",
            "should be greater than or equal to 1",
        ),
        (
            {"provider": {"type": "SSH", "hosts": [{"address": "Not OK"}]}},
            "spec.provider.hosts[0].address",
            "should match",
        ),
        ({"provider": {"type": "SSH", "hosts": []}}, "spec.provider.hosts", "at least 1 items"),
        ({"labels": {"k": "toolong"}}, "spec.labels[k]", "Too long"),
        ({"size": True}, "spec.size", "must be of type integer,string"),
        ({"startedAt": "yesterday"}, "spec.startedAt", "must be of type date-time"),
    ],
)
async def test_invalid_objects_are_refused_naming_the_field(
    custom: Any, spec: dict[str, Any], field: str, text: str
) -> None:
    body = gadget("bad", **spec)
    body["spec"] = {k: v for k, v in body["spec"].items() if v is not None}
    code, status = await failure(
        custom.create_namespaced_custom_object, GROUP, VERSION, NS, PLURAL, body
    )
    assert (code, status["reason"], status["kind"]) == (422, "Invalid", "Status")
    assert status["message"].startswith(f'{KIND}.{GROUP} "bad" is invalid: {field}: ')
    assert text in status["message"]
    assert status["details"]["causes"][0]["field"] == field
    assert status["details"]["kind"] == KIND and status["details"]["group"] == GROUP


async def test_status_writes_are_validated_too(custom: Any, http: Any) -> None:
    await create(custom, gadget("cond"))
    ready = {"type": "Ready", "status": "True"}
    status, body = await patch(
        http, "cond", {"status": {"conditions": [ready, ready]}}, sub="status"
    )
    assert status == 422
    assert "status.conditions[1]: Duplicate value" in body["message"]


async def test_unknown_fields_are_pruned_or_refused_when_strict(custom: Any, http: Any) -> None:
    body = gadget("prune", colour="red", extra={"any": {"thing": 1}}, size="50%", note=None)
    async with http.post(BASE, json=body) as response:
        created = await response.json()
        warning = response.headers.get("Warning", "")
    assert "colour" not in created["spec"] and 'unknown field \\"spec.colour\\"' in warning
    assert created["spec"]["extra"] == {"any": {"thing": 1}}
    assert created["spec"]["size"] == "50%" and created["spec"]["note"] is None

    body["metadata"]["name"] = "strict"
    code, status = await failure(
        custom.create_namespaced_custom_object,
        GROUP,
        VERSION,
        NS,
        PLURAL,
        body,
        field_validation="Strict",
    )
    assert (code, status["reason"]) == (400, "BadRequest")
    assert 'unknown field "spec.colour"' in status["message"]


async def test_lists_have_a_kind_a_version_and_selectors(custom: Any, http: Any) -> None:
    for name, labels in [("a1", {"app": "a"}), ("b1", {"app": "b", "tier": "x"}), ("c1", {})]:
        body = gadget(name)
        body["metadata"]["labels"] = labels
        await create(custom, body)
    listed = await call(custom.list_namespaced_custom_object, GROUP, VERSION, NS, PLURAL)
    assert listed["kind"] == "GadgetList" and listed["apiVersion"] == f"{GROUP}/{VERSION}"
    assert int(listed["metadata"]["resourceVersion"]) >= 4

    async def names(**params: str) -> list[str]:
        async with http.get(BASE, params=params) as response:
            return [item["metadata"]["name"] for item in (await response.json())["items"]]

    assert await names(labelSelector="app=a") == ["a1"]
    assert await names(labelSelector="app in (a,b),!tier") == ["a1"]
    assert await names(labelSelector="app!=a") == ["b1", "c1"]
    assert await names(labelSelector="tier") == ["b1"]
    assert await names(fieldSelector="metadata.name=c1,metadata.namespace=default") == ["c1"]
    async with http.get(BASE, params={"labelSelector": "a in b"}) as response:
        assert response.status == 400


async def test_builtin_resources_are_stored_plainly(api: Any, http: Any) -> None:
    core = kubernetes.client.CoreV1Api(api)
    namespaces = await call(core.list_namespace)
    assert [ns.metadata.name for ns in namespaces.items] == ["default"]
    await call(core.create_namespace, {"metadata": {"name": "other"}})
    await call(
        core.create_namespaced_secret, "other", {"metadata": {"name": "s"}, "data": {"k": "dg=="}}
    )
    secret = await call(core.read_namespaced_secret, "s", "other")
    assert secret.data == {"k": "dg=="}
    event = {"metadata": {"generateName": "e-"}, "involvedObject": {"name": "x"}, "reason": "R"}
    await call(core.create_namespaced_event, NS, event)
    async with http.post("/apis/events.k8s.io/v1/namespaces/default/events", json=event) as rsp:
        assert rsp.status == 201
    assert len((await call(core.list_namespaced_event, NS)).items) == 1
    async with http.get("/api/v1/namespaces") as response:
        listed = await response.json()
    assert listed["kind"] == "NamespaceList"
    assert sorted(ns["metadata"]["name"] for ns in listed["items"]) == ["default", "other"]


async def test_deletion_waits_for_finalizers(custom: Any, http: Any) -> None:
    body = gadget("fin")
    body["metadata"]["finalizers"] = ["x.dev/f"]
    await create(custom, body)
    deleting = await call(custom.delete_namespaced_custom_object, GROUP, VERSION, NS, PLURAL, "fin")
    assert deleting["metadata"]["deletionTimestamp"]
    assert (await read(custom, "fin"))["metadata"]["deletionTimestamp"]

    status, body = await patch(http, "fin", {"metadata": {"finalizers": ["x.dev/f", "new"]}})
    assert status == 422 and "no new finalizers" in body["message"]
    status, _ = await patch(http, "fin", {"metadata": {"finalizers": None}})
    assert status == 200
    code, gone = await failure(
        custom.get_namespaced_custom_object, GROUP, VERSION, NS, PLURAL, "fin"
    )
    assert (code, gone["reason"]) == (404, "NotFound")


async def test_owned_objects_are_collected_with_their_owner(api: Any, custom: Any) -> None:
    owner = await create(custom, gadget("owner"))
    ref = {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND, "name": "owner"}
    ref["uid"] = owner["metadata"]["uid"]
    core = kubernetes.client.CoreV1Api(api)
    body = {"metadata": {"name": "owned", "ownerReferences": [ref]}, "data": {"a": "b"}}
    await call(core.create_namespaced_config_map, NS, body)
    await call(custom.delete_namespaced_custom_object, GROUP, VERSION, NS, PLURAL, "owner")
    code, _ = await failure(core.read_namespaced_config_map, "owned", NS)
    assert code == 404


async def test_crds_created_through_the_api_are_served(http: aiohttp.ClientSession) -> None:
    crd = gadget_crd()
    crd["metadata"]["name"] = f"widgets.{GROUP}"
    crd["spec"]["names"] = {"kind": "Widget", "plural": "widgets"}
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    async with http.post(crds, json=crd) as response:
        created = await response.json()
    conditions = {c["type"]: c["status"] for c in created["status"]["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    async with http.get(f"/apis/{GROUP}/{VERSION}") as response:
        resources = {r["name"]: r for r in (await response.json())["resources"]}
    assert set(resources) == {"gadgets", "gadgets/status", "widgets", "widgets/status"}
    assert resources["gadgets"]["shortNames"] == ["gd"] and resources["gadgets"]["kind"] == KIND
    assert resources["gadgets/status"]["verbs"] == ["get", "patch", "update"]

    async with http.delete(f"{crds}/widgets.{GROUP}") as response:
        assert response.status == 200
    async with http.get(f"/apis/{GROUP}/{VERSION}/namespaces/default/widgets") as response:
        assert response.status == 404


async def test_tables_print_the_crd_columns(custom: Any, http: Any) -> None:
    await create(custom, gadget("tab"))
    conditions = [{"type": "Other", "status": "False"}, {"type": "Ready", "status": "True"}]
    await patch(
        http, "tab", {"status": {"readyReplicas": 2, "conditions": conditions}}, sub="status"
    )
    async with http.get(BASE, headers=TABLE) as response:
        table = await response.json()
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    names = [column["name"] for column in table["columnDefinitions"]]
    assert names == ["Name", "Ready", "Provider", "Healthy", "Age"]
    [row] = table["rows"]
    assert row["cells"][:4] == ["tab", 2, "Local", "True"]
    assert re.fullmatch(r"\d+s", row["cells"][4])
    assert row["object"]["kind"] == "PartialObjectMetadata"
    async with http.get(f"{BASE}/tab", headers=TABLE, params={"includeObject": "Object"}) as rsp:
        assert (await rsp.json())["rows"][0]["object"]["spec"]["prompt"] == "hello"


async def test_user_reactions_can_inject_faults(served: Any, http: aiohttp.ClientSession) -> None:
    served.emulator["get /version"] << 503
    async with http.get("/version") as response:
        assert response.status == 503
    async with http.get("/api") as response:
        assert response.status == 200


async def test_300_creates_cost_the_same_each(http: aiohttp.ClientSession) -> None:
    emulator = Emulator(request_log_limit=50, history_limit=100)
    emulator.install_crd(gadget_crd())
    async with serve(emulator) as served, aiohttp.ClientSession(base_url=served.url) as client:
        started = time.perf_counter()
        for index in range(300):
            async with client.post(BASE, json=gadget(f"n{index}")) as response:
                assert response.status == 201
        elapsed = time.perf_counter() - started
        async with client.get(BASE) as response:
            assert len((await response.json())["items"]) == 300
    print(f"300 creates in {elapsed * 1000:.0f} ms")
    # Bounded by counting: the log and the history keep their limits; no kmock reaction was
    # consulted (kmock's own routing scans the whole log for every request).
    assert emulator.served == 301 and len(emulator._requests) == 50
    assert emulator.store.history_size == 100
    assert all(not payload._requests for payload in emulator._payloads)
    assert elapsed < 5


async def test_scale_subresource_writes_through(http: aiohttp.ClientSession, served: Any) -> None:
    crd = gadget_crd()
    crd["metadata"]["name"] = f"pools.{GROUP}"
    crd["spec"]["names"] = {"kind": "Pool", "plural": "pools"}
    scale = {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.readyReplicas"}
    crd["spec"]["versions"][0]["subresources"]["scale"] = scale
    served.emulator.install_crd(crd)
    pools = f"/apis/{GROUP}/{VERSION}/namespaces/{NS}/pools"
    async with http.post(pools, json={**gadget("p"), "kind": "Pool"}) as response:
        assert response.status == 201
    async with http.patch(f"{pools}/p/scale", json={"spec": {"replicas": 4}}, headers=MERGE) as rsp:
        assert (await rsp.json())["spec"] == {"replicas": 4}
    async with http.get(f"{pools}/p") as response:
        pool = await response.json()
    assert pool["spec"]["replicas"] == 4 and pool["metadata"]["generation"] == 2
    async with http.put(f"{pools}/p/scale", json={"spec": {"replicas": 11}}) as response:
        assert response.status == 422  # the schema's maximum still holds


async def test_custom_resource_names_are_dns_subdomains(custom: Any) -> None:
    code, status = await failure(
        custom.create_namespaced_custom_object, GROUP, VERSION, NS, PLURAL, gadget("Not_OK")
    )
    assert code == 422 and 'metadata.name: Invalid value: "Not_OK"' in status["message"]
