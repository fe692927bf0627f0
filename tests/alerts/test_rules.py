"""The alert rules we ship: valid for Prometheus, unit-tested alert by alert with promtool."""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess

import pytest
import yaml

from sprite_orchestrator.metrics import Metrics
from tests.metrics.samples import scrape

ROOT = pathlib.Path(__file__).parents[2]
RULES = ROOT / "charts" / "sprite-orchestrator" / "rules" / "orchestrator-alerts.yaml"
TESTS = pathlib.Path(__file__).parent / "rules"
RUNBOOK = "https://github.com/sprite-orchestrator/sprite-orchestrator/blob/main/README.md#"

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool not found: `apt-get install prometheus` (Debian's package ships it)",
)


def alerts() -> list[dict]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def promtool(*args: str | pathlib.Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", *map(str, args)], capture_output=True, text=True, check=False, timeout=60
    )


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    result = promtool("check", "rules", RULES)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in result.stdout


@needs_promtool
@pytest.mark.parametrize("test_file", sorted(TESTS.glob("*.test.yaml")), ids=lambda p: p.stem)
def test_promtool_unit_tests_pass(test_file: pathlib.Path) -> None:
    result = promtool("test", "rules", test_file)

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_its_own_test_file() -> None:
    names = {rule["alert"] for rule in alerts()}
    files = {p.name.removesuffix(".test.yaml") for p in TESTS.glob("*.test.yaml")}

    assert files == names


@pytest.mark.parametrize("test_file", sorted(TESTS.glob("*.test.yaml")), ids=lambda p: p.stem)
def test_each_test_file_shows_its_alert_firing_and_not_firing(test_file: pathlib.Path) -> None:
    alert = test_file.name.removesuffix(".test.yaml")
    cases = [
        case
        for test in yaml.safe_load(test_file.read_text())["tests"]
        for case in test["alert_rule_test"]
    ]

    assert {case["alertname"] for case in cases} == {alert}
    assert any(case["exp_alerts"] for case in cases), "no case where it fires"
    assert any(not case["exp_alerts"] for case in cases), "no case where it stays quiet"


@pytest.mark.parametrize("rule", alerts(), ids=lambda r: r["alert"])
def test_every_alert_says_what_where_and_what_to_do(rule: dict) -> None:
    notes = rule["annotations"]

    assert set(notes) == {"summary", "description", "runbook_url"}
    assert rule["labels"]["severity"] in ("critical", "warning", "info")
    if rule["alert"] != "OperatorDown":  # absent() has no pool to name
        assert "{{ $labels.namespace }}/{{ $labels.pool }}" in notes["description"]


@pytest.mark.parametrize("rule", alerts(), ids=lambda r: r["alert"])
def test_every_runbook_url_points_at_a_readme_section(rule: dict) -> None:
    headings = re.findall(r"^### (\w+)$", (ROOT / "README.md").read_text(), flags=re.MULTILINE)

    assert rule["annotations"]["runbook_url"] == RUNBOOK + rule["alert"].lower()
    assert rule["alert"] in headings


def test_the_rules_use_only_metrics_the_operator_exports() -> None:
    m = Metrics()
    m.observe_pool(
        "ns", "p", provider="Local", max_workers=1, workers=[], agents=[], tasks=[], queue_depth=0
    )
    m.task_finished("ns", "p", result="failed", reason="AgentError")
    m.dispatched("ns", "p", 1.0)
    m.provisioned("ns", "p", 1.0)
    m.polled("ns", "p", 1.0)
    m.poll_error("ns", "p", "Timeout")
    m.task_cost("ns", "p", 1.0)
    exported = {name for name, _ in scrape(m)}

    used = set(re.findall(r"\borchestrator_\w+", RULES.read_text()))

    assert used <= exported
