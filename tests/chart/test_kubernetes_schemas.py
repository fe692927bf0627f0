"""Every object the chart renders is valid for Kubernetes (kubernetes-validate, strict)."""

from __future__ import annotations

import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml

from tests.chart.charting import CHART, objects
from tests.chart.test_render import VALUE_SETS

# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest known.
VERSIONS = ["1.25.0", kubernetes_validate.latest_version()]
PROMETHEUS_OPERATOR = "monitoring.coreos.com/v1"  # CRDs, not in Kubernetes' schemas


def validate(obj: dict, version: str) -> None:
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        pytest.fail(f"{name} is invalid for Kubernetes {version}: {str(exc).splitlines()[0]}")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_every_rendered_object_is_valid(values: dict | None, version: str) -> None:
    for obj in objects(values):
        if obj["apiVersion"] != PROMETHEUS_OPERATOR:
            validate(obj, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_charts_crds_are_valid(version: str) -> None:
    for path in sorted((CHART / "crds").glob("*.yaml")):
        validate(yaml.safe_load(path.read_text()), version)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not found")
def test_the_rendered_prometheus_rule_passes_promtool(tmp_path) -> None:
    (rule,) = [o for o in objects(VALUE_SETS["everything"]) if o["kind"] == "PrometheusRule"]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rule["spec"]))

    result = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
