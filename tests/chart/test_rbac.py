"""Least privilege, as a list: exactly these permissions and no others.

test_rbac_from_a_run.py shows this list is what a real run of the operator uses.
"""

from __future__ import annotations

from tests.chart.charting import FULLNAME, NAMESPACE, objects, one

OURS = "orchestrator.dev"
OPERATOR = {
    (OURS, "workerpools"): {"get", "list", "watch", "patch"},
    (OURS, "agenttasks"): {"get", "list", "watch", "patch"},
    (OURS, "workers"): {"get", "list", "watch", "create", "patch", "delete"},
    (OURS, "workerpools/status"): {"patch"},
    (OURS, "workers/status"): {"patch"},
    (OURS, "agenttasks/status"): {"patch"},
    (OURS, "workerpools/finalizers"): {"update"},
    ("", "secrets"): {"get"},
    ("", "configmaps"): {"get"},
    ("", "events"): {"create"},
}
KOPF_CRDS = {("apiextensions.k8s.io", "customresourcedefinitions"): {"list", "watch"}}
KOPF_NAMESPACES = {("", "namespaces"): {"list", "watch"}}
# tests/operator/test_high_availability.py shows these are what two peered replicas use.
PEERING_VERBS = {"list", "watch", "create", "patch"}
CLUSTER_PEERING = {("kopf.dev", "clusterkopfpeerings"): PEERING_VERBS}
NAMESPACE_PEERING = {("kopf.dev", "kopfpeerings"): PEERING_VERBS}


def permissions(role: dict) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}, "no resourceNames, no URLs"
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                found.setdefault((group, resource), set()).update(rule["verbs"])
    return found


def bound_to_the_operator(binding: dict, role: dict) -> bool:
    ref, (subject,) = binding["roleRef"], binding["subjects"]
    return (
        ref["kind"] == role["kind"]
        and ref["name"] == role["metadata"]["name"]
        and subject == {"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}
    )


def test_cluster_wide_the_cluster_role_holds_exactly_what_the_operator_uses() -> None:
    objs = objects()
    role = one(objs, "ClusterRole")

    assert permissions(role) == {**OPERATOR, **KOPF_CRDS, **CLUSTER_PEERING}
    assert bound_to_the_operator(one(objs, "ClusterRoleBinding"), role)
    assert [o for o in objs if o["kind"] in ("Role", "RoleBinding")] == []


def test_namespaced_each_namespace_gets_a_role_and_kopf_reads_crds_and_namespaces() -> None:
    objs = objects({"watchNamespaces": ["team-a", "team-b"]})
    framework = one(objs, "ClusterRole")
    roles = [o for o in objs if o["kind"] == "Role"]
    bindings = {o["metadata"]["namespace"]: o for o in objs if o["kind"] == "RoleBinding"}

    assert permissions(framework) == {**KOPF_CRDS, **KOPF_NAMESPACES}
    assert bound_to_the_operator(one(objs, "ClusterRoleBinding"), framework)
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    for role in roles:
        assert permissions(role) == {**OPERATOR, **NAMESPACE_PEERING}
        assert bound_to_the_operator(bindings[role["metadata"]["namespace"]], role)


def test_standalone_no_peering_permissions() -> None:
    role = one(objects({"peering": {"enabled": False}}), "ClusterRole")

    assert permissions(role) == {**OPERATOR, **KOPF_CRDS}


def test_no_wildcards_and_secrets_are_never_listed() -> None:
    for values in (None, {"watchNamespaces": ["team-a"]}):
        for role in (o for o in objects(values) if o["kind"] in ("ClusterRole", "Role")):
            for rule in role["rules"]:
                assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"]
            assert permissions(role).get(("", "secrets"), {"get"}) == {"get"}


def test_rbac_and_the_account_can_be_brought_by_the_user() -> None:
    values = {"rbac": {"create": False}, "serviceAccount": {"create": False, "name": "mine"}}
    objs = objects(values)
    deployment = one(objs, "Deployment")

    assert {o["kind"] for o in objs} == {"Deployment", "Service"}
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "mine"
