"""Fixtures of the devserver tests: a served emulator with a small CRD of our own, clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import aiohttp
import kubernetes.client
import pytest
from kubernetes.client.exceptions import ApiException

from sprite_orchestrator.devserver.emulator import Emulator
from sprite_orchestrator.devserver.serving import Served, serve

T = TypeVar("T")
GROUP, VERSION, PLURAL, KIND = "test.devserver.dev", "v1", "gadgets", "Gadget"
NS = "default"


def gadget_crd() -> dict[str, Any]:
    """Nested objects, enums, bounds, required fields, maps, list-maps, a status subresource."""
    condition = {
        "type": "object",
        "required": ["type", "status"],
        "properties": {
            "type": {"type": "string"},
            "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
            "reason": {"type": "string"},
        },
    }
    host = {
        "type": "object",
        "required": ["address"],
        "properties": {
            "address": {"type": "string", "pattern": "^[a-z0-9.-]+$"},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        },
    }
    short_string = {"type": "string", "maxLength": 5}
    spec = {
        "type": "object",
        "required": ["prompt", "provider"],
        "properties": {
            "prompt": {"type": "string", "minLength": 1, "maxLength": 50},
            "replicas": {"type": "integer", "minimum": 0, "maximum": 10, "default": 1},
            "provider": {
                "type": "object",
                "required": ["type"],
                "properties": {
                    "type": {"type": "string", "enum": ["Local", "SSH"]},
                    "hosts": {"type": "array", "minItems": 1, "maxItems": 3, "items": host},
                },
            },
            "labels": {"type": "object", "additionalProperties": short_string},
            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "size": {"x-kubernetes-int-or-string": True},
            "note": {"type": "string", "nullable": True},
            "startedAt": {"type": "string", "format": "date-time"},
        },
    }
    status = {
        "type": "object",
        "properties": {
            "readyReplicas": {"type": "integer"},
            "phase": {"type": "string"},
            "conditions": {
                "type": "array",
                "items": condition,
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
            },
        },
    }
    columns = [
        {"name": "Ready", "type": "integer", "jsonPath": ".status.readyReplicas"},
        {"name": "Provider", "type": "string", "jsonPath": ".spec.provider.type"},
        {
            "name": "Healthy",
            "type": "string",
            "jsonPath": ".status.conditions[?(@.type=='Ready')].status",
        },
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": KIND,
                "plural": PLURAL,
                "singular": "gadget",
                "shortNames": ["gd"],
                "categories": ["testing"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "required": ["spec"],
                            "properties": {"spec": spec, "status": status},
                        }
                    },
                }
            ],
        },
    }


def gadget(name: str | None = None, **spec: Any) -> dict[str, Any]:
    meta = {"name": name} if name else {"generateName": "gd-"}
    body_spec = {"prompt": "hello", "provider": {"type": "Local"}, **spec}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND, "metadata": meta, "spec": body_spec}


@pytest.fixture
def emulator() -> Emulator:
    emulator = Emulator()
    emulator.install_crd(gadget_crd())
    return emulator


@pytest.fixture
async def served(emulator: Emulator) -> AsyncIterator[Served]:
    async with serve(emulator) as served:
        yield served


@pytest.fixture
def api(served: Served) -> Any:
    """The official client (blocking: call it through `call`)."""
    client = kubernetes.client.ApiClient(kubernetes.client.Configuration(host=served.url))
    yield client
    client.close()


@pytest.fixture
def custom(api: Any) -> Any:
    return kubernetes.client.CustomObjectsApi(api)


@pytest.fixture
async def http(served: Served) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=served.url) as session:
        yield session


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(fn, *args, **kwargs)


async def failure(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """Call expecting an API error; return its HTTP code and Status body."""
    with pytest.raises(ApiException) as info:
        await call(fn, *args, **kwargs)
    return info.value.status, json.loads(info.value.body)
