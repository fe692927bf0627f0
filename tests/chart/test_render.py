"""The chart renders with Helm's engine, lints clean, and its values schema guards it."""

from __future__ import annotations

import pytest
import yaml
from helm_python import HelmRenderError, HelmValuesError, lint

from sprite_orchestrator import __version__
from tests.chart.charting import CHART, FULLNAME, NAMESPACE, chart, container, kinds, objects, one
from tests.chart.charting import render as render_chart

RULES = CHART / "rules" / "orchestrator-alerts.yaml"
EVERYTHING = {
    "watchNamespaces": ["team-a", "team-b"],
    "metrics": {"serviceMonitor": {"enabled": True}, "prometheusRule": {"enabled": True}},
    "image": {"repository": "registry.example/sprite-orchestrator", "tag": "1.2.3"},
    "operator": {"stateClaimName": "workers", "extraArgs": ["--kubeconfig=/etc/kube/config"]},
    "serviceAccount": {"annotations": {"example.com/role": "operator"}},
    "podLabels": {"team": "agents"},
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "agents", "operator": "Exists", "effect": "NoSchedule"}],
    "priorityClassName": "agents",
}
VALUE_SETS = {"defaults": None, "everything": EVERYTHING}


def test_defaults_render_the_operator_its_account_rbac_and_metrics_service() -> None:
    assert kinds(objects()) == [
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Service",
        "ServiceAccount",
    ]


def test_monitoring_objects_are_optional() -> None:
    objs = objects({"metrics": EVERYTHING["metrics"]})

    assert {"ServiceMonitor", "PrometheusRule"} <= set(kinds(objs))


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_helm_lint_finds_nothing_to_warn_about(values: dict | None) -> None:
    report = lint(CHART, values, strict=True, namespace=NAMESPACE)

    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_the_prometheus_rule_is_the_plain_rule_file() -> None:
    rule = one(objects({"metrics": EVERYTHING["metrics"]}), "PrometheusRule")

    assert rule["spec"] == yaml.safe_load(RULES.read_text())


def test_the_runbook_base_url_is_a_value() -> None:
    base = "https://wiki.example/ops/sprite-orchestrator#"
    metrics = {"prometheusRule": {"enabled": True, "runbookBaseUrl": base}}
    rule = one(objects({"metrics": metrics}), "PrometheusRule")

    alerts = [r for group in rule["spec"]["groups"] for r in group["rules"]]
    assert len(alerts) == len(yaml.safe_load(RULES.read_text())["groups"][0]["rules"])
    for alert in alerts:
        assert alert["annotations"]["runbook_url"] == base + alert["alert"].lower()


def test_the_service_monitor_scrapes_the_metrics_port_and_keeps_our_namespace_label() -> None:
    objs = objects({"metrics": EVERYTHING["metrics"]})
    monitor, service = one(objs, "ServiceMonitor"), one(objs, "Service")

    (endpoint,) = monitor["spec"]["endpoints"]
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    assert endpoint["honorLabels"] is True


def test_the_service_reaches_the_operators_metrics_port() -> None:
    objs = objects()
    service, pod = one(objs, "Service"), one(objs, "Deployment")["spec"]["template"]

    (port,) = service["spec"]["ports"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert port["targetPort"] in {p["name"] for p in container(objs)["ports"]}


def test_the_operator_runs_with_liveness_and_metrics_ports() -> None:
    c = container(objects())

    assert c["command"] == ["orchestrator"]
    assert c["args"] == [
        "operator",
        "--liveness=http://0.0.0.0:8080/healthz",
        "--metrics-port=8081",
        "--state-dir=/var/lib/sprite-orchestrator",
        f"--peering={FULLNAME}",
    ]
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"health": 8080, "metrics": 8081}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": "health"}


def test_watched_namespaces_become_arguments() -> None:
    c = container(objects({"watchNamespaces": ["team-a", "team-b"]}))

    assert c["args"][-2:] == ["--namespace=team-a", "--namespace=team-b"]


def test_the_default_image_is_the_one_make_image_builds_at_the_packages_version() -> None:
    assert container(objects())["image"] == f"sprite-orchestrator:{__version__}"
    assert chart().metadata["appVersion"] == __version__


def test_peered_replicas_roll_and_are_named_by_their_pod() -> None:
    objs = objects({"replicaCount": 3, "peering": {"name": "ops-peering"}})
    deployment = one(objs, "Deployment")

    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"] == {"type": "RollingUpdate"}
    assert "--peering=ops-peering" in container(objs)["args"]
    pod_id = next(e for e in container(objs)["env"] if e["name"] == "POD_ID")
    assert pod_id["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}


def test_standalone_is_one_replica_replaced_not_rolled() -> None:
    objs = objects({"peering": {"enabled": False}})
    deployment = one(objs, "Deployment")

    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert not [a for a in container(objs)["args"] if a.startswith("--peering")]


def test_two_standalone_replicas_are_refused() -> None:
    with pytest.raises(HelmRenderError, match=r"replicaCount > 1 needs peering\.enabled"):
        render_chart({"replicaCount": 2, "peering": {"enabled": False}})


@pytest.mark.parametrize(
    "values",
    [
        {"peering": {"name": "Not_A_Name"}},
        {"metrics": {"prometheusRule": {"runbookBaseUrl": "see the wiki"}}},
        {"watchNamespaces": ["Not_A_Namespace"]},
        {"metrics": {"port": 0}},
        {"image": {"pullPolicy": "Sometimes"}},
        {"typo": True},
    ],
    ids=[
        "bad-peering-name",
        "bad-runbook-url",
        "bad-namespace",
        "bad-port",
        "bad-pull-policy",
        "unknown-key",
    ],
)
def test_the_values_schema_rejects(values: dict) -> None:
    with pytest.raises(HelmValuesError):
        render_chart(values)


def test_notes_say_where_metrics_are_and_how_to_start() -> None:
    notes = render_chart()["sprite-orchestrator/templates/NOTES.txt"]

    assert f"http://{FULLNAME}-metrics.{NAMESPACE}.svc:8081/metrics" in notes
    assert "orchestrator dispatch --repo kite" in notes
