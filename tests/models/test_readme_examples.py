"""Every WorkerPool, AgentTask and Worker the README shows is valid, so no example rots."""

from __future__ import annotations

import pathlib
import re
from typing import Any

import pytest
import yaml

from sprite_orchestrator import API_VERSION
from sprite_orchestrator.models.kinds import KINDS

README = pathlib.Path(__file__).parents[2] / "README.md"
BLOCK = re.compile(r"^```yaml\n(.*?)^```$", re.DOTALL | re.MULTILINE)
SPECS = {k.kind: k.spec for k in KINDS}


def documents() -> list[dict[str, Any]]:
    """Every YAML document in the README's yaml blocks."""
    found = []
    for block in BLOCK.findall(README.read_text()):
        found += [d for d in yaml.safe_load_all(block) if d is not None]
    return found


def examples() -> list[dict[str, Any]]:
    """Our kinds, whole; a bare `spec:` fragment is a WorkerPool's, set into the first pool."""
    docs = documents()
    pools = [d for d in docs if d.get("kind") == "WorkerPool"]
    ours = [d for d in docs if d.get("kind") in SPECS]
    for fragment in (d for d in docs if set(d) == {"spec"}):
        spec = {**pools[0]["spec"], **fragment["spec"]}
        ours.append({"apiVersion": API_VERSION, "kind": "WorkerPool", "spec": spec})
    return ours


def test_the_readme_shows_every_kind_and_the_provider_fragments() -> None:
    kinds = [d["kind"] for d in examples()]
    assert {"WorkerPool", "AgentTask"} <= set(kinds) and len(kinds) >= 5


@pytest.mark.parametrize(
    "doc", examples(), ids=lambda d: f"{d['kind']}-{d['spec'].get('provider', {}).get('type')}"
)
def test_a_readme_example_is_valid(doc: dict[str, Any]) -> None:
    assert doc["apiVersion"] == API_VERSION
    SPECS[doc["kind"]].model_validate(doc["spec"])
