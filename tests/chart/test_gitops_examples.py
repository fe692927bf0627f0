"""The README's pool-from-git examples (Flux, Argo CD) hold together and name real things."""

from __future__ import annotations

import re
from typing import Any

import yaml

from sprite_orchestrator.models import WorkerPoolSpec
from tests.chart.charting import CHART, ROOT


def examples() -> dict[str, dict[str, Any]]:
    """Kind → object, from the YAML blocks of the README's "Pools managed from git"."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Pools managed from git", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL)
    docs = [doc for block in blocks for doc in yaml.safe_load_all(block) if doc]
    return {doc["kind"]: doc for doc in docs}


def test_the_pool_in_git_is_a_valid_worker_pool() -> None:
    pool = examples()["WorkerPool"]

    assert pool["apiVersion"] == "orchestrator.dev/v1alpha1"
    assert WorkerPoolSpec.model_validate(pool["spec"]).scaling.max_workers == 2


def test_flux_applies_the_pools_directory_from_its_repository() -> None:
    found = examples()
    source, kustomization = found["GitRepository"], found["Kustomization"]

    assert kustomization["spec"]["sourceRef"] == {
        "kind": "GitRepository",
        "name": source["metadata"]["name"],
    }
    assert kustomization["spec"]["path"] == "./pools" and kustomization["spec"]["prune"]


def test_argo_cd_syncs_the_same_directory_with_our_health_check() -> None:
    found = examples()
    application, config = found["Application"], found["ConfigMap"]

    assert application["spec"]["source"]["path"] == "pools"
    assert application["spec"]["source"]["repoURL"] == found["GitRepository"]["spec"]["url"]
    (key,) = config["data"]
    lua = (CHART / "argocd" / "workerpool-health.lua").read_text()
    assert f"{key}: |" in lua  # the key the health check's own header says to install it under
