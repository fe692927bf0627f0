"""The chart ships the generated CRDs: the same bytes as crds/ (`make crds` copies them)."""

from __future__ import annotations

from tests.chart.charting import CHART, ROOT, chart


def test_the_charts_crds_are_the_generated_ones() -> None:
    top = {p.name: p.read_text() for p in (ROOT / "crds").glob("*.yaml")}
    ours = {p.name: p.read_text() for p in (CHART / "crds").glob("*.yaml")}

    assert ours == top, "charts/sprite-orchestrator/crds/ is stale: run `make crds`"


def test_helm_loads_them_as_crds() -> None:
    names = {c["name"] for c in chart().crds}

    assert names == {f"crds/{p.name}" for p in (ROOT / "crds").glob("*.yaml")}
