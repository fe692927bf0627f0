"""The CRDs in crds/ are generated from the models; columns point at real fields."""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml

from sprite_orchestrator.models import crds
from sprite_orchestrator.models.kinds import KINDS

ROOT = pathlib.Path(__file__).parents[2]


def test_committed_crds_equal_the_generated_ones() -> None:
    generated = crds.files()
    committed = {p.name: p.read_text() for p in (ROOT / "crds").glob("*.yaml")}
    assert committed == generated, "crds/ is stale: run `make crds`"


def _walk(schema: dict, path: str) -> dict | None:
    """Follow a printer column's jsonPath through the schema; None where it leads nowhere."""
    node: dict | None = schema
    for part in re.findall(r"\.([A-Za-z]+)(\[\?\(@\.type==\"\w+\"\)\])?", path):
        name, filtered = part
        if node is None:
            return None
        node = node.get("properties", {}).get(name)
        if node is not None and filtered:
            node = node.get("items")
    return node


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_every_printer_column_points_at_a_field_of_the_schema(kind) -> None:
    doc = crds.crd(kind)
    version = doc["spec"]["versions"][0]
    schema = version["schema"]["openAPIV3Schema"]
    schema["properties"]["metadata"] = {
        "properties": {"creationTimestamp": {"type": "string"}, "name": {"type": "string"}}
    }
    for column in version["additionalPrinterColumns"]:
        assert _walk(schema, column["jsonPath"]) is not None, column


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_schemas_are_structural(kind) -> None:
    text = yaml.safe_dump(crds.crd(kind))
    assert "$ref" not in text and "anyOf" not in text and "title:" not in text

    def check(node: dict, where: str) -> None:
        assert "type" in node, where
        for name, sub in node.get("properties", {}).items():
            check(sub, f"{where}.{name}")
        if "items" in node:
            check(node["items"], f"{where}[]")

    check(crds.crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"], kind.kind)


def test_names_and_short_names() -> None:
    names = {k.kind: (k.plural, k.short_names) for k in KINDS}
    assert names == {
        "WorkerPool": ("workerpools", ("wp",)),
        "Worker": ("workers", ("wk",)),
        "AgentTask": ("agenttasks", ("at",)),
    }


def test_conditions_are_a_map_list_keyed_by_type() -> None:
    for kind in KINDS:
        status = crds.object_schema(kind)["properties"]["status"]
        conditions = status["properties"]["conditions"]
        assert conditions["x-kubernetes-list-type"] == "map"
        assert conditions["x-kubernetes-list-map-keys"] == ["type"]
