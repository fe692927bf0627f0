"""Rendering the chart with Helm's own engine (helm-python-sdk), for one-line assertions."""

from __future__ import annotations

import functools
import pathlib
from typing import Any

import yaml
from helm_python import Chart

ROOT = pathlib.Path(__file__).parents[2]
CHART = ROOT / "charts" / "sprite-orchestrator"
RELEASE, NAMESPACE = "so", "ops"
FULLNAME = f"{RELEASE}-sprite-orchestrator"

Obj = dict[str, Any]


@functools.cache
def chart() -> Chart:
    return Chart.load(CHART)


def render(values: Obj | None = None) -> dict[str, str]:
    """Template path → rendered text, as `helm template so -n ops` would give."""
    return chart().render(values=values, name=RELEASE, namespace=NAMESPACE, is_install=True)


def objects(values: Obj | None = None) -> list[Obj]:
    """Every rendered Kubernetes object (NOTES.txt and empty templates left out)."""
    docs = []
    for path, text in render(values).items():
        if path.endswith(".yaml"):
            docs += [doc for doc in yaml.safe_load_all(text) if doc]
    return docs


def one(objs: list[Obj], kind: str, name: str | None = None) -> Obj:
    """The only object of this kind (and name)."""
    found = [o for o in objs if o["kind"] == kind and name in (None, o["metadata"]["name"])]
    assert len(found) == 1, f"{len(found)} {kind} objects named {name}"
    return found[0]


def container(objs: list[Obj]) -> Obj:
    (operator,) = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"]
    return dict(operator)


def kinds(objs: list[Obj]) -> list[str]:
    return sorted(o["kind"] for o in objs)
