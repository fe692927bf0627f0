"""The operator's pod runs as a restricted workload: non-root, read-only, no capabilities."""

from __future__ import annotations

import pathlib

from sprite_orchestrator.handlers.transcripts import saved_path
from tests.chart.charting import container, objects, one


def pod_spec(values: dict | None = None) -> dict:
    return dict(one(objects(values), "Deployment")["spec"]["template"]["spec"])


def test_the_pod_runs_as_a_non_root_user_with_the_default_seccomp_profile() -> None:
    security = pod_spec()["securityContext"]

    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] > 0
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}


def test_the_container_is_read_only_with_every_capability_dropped() -> None:
    security = container(objects())["securityContext"]

    assert security == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def test_every_place_it_writes_is_a_volume() -> None:
    c, spec = container(objects()), pod_spec()
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    env = {e["name"]: e.get("value") for e in c["env"]}

    assert mounts == {"/var/lib/sprite-orchestrator": "state", "/tmp": "tmp"}
    assert volumes["state"]["emptyDir"] == {"sizeLimit": "10Gi"}
    assert "emptyDir" in volumes["tmp"]
    assert env["HOME"] == env["TMPDIR"] == "/tmp"
    assert "--state-dir=/var/lib/sprite-orchestrator" in c["args"]


def test_a_claim_can_hold_the_workers_instead() -> None:
    spec = pod_spec({"operator": {"stateClaimName": "workers"}})

    (state,) = [v for v in spec["volumes"] if v["name"] == "state"]
    assert state == {"name": "state", "persistentVolumeClaim": {"claimName": "workers"}}


def test_it_asks_for_resources_and_is_bounded_in_memory() -> None:
    resources = container(objects())["resources"]

    assert set(resources["requests"]) == {"cpu", "memory"}
    assert "memory" in resources["limits"]


def test_transcripts_kept_off_the_workers_land_on_the_writable_state_volume() -> None:
    c = container(objects())
    state_dir = next(a.split("=", 1)[1] for a in c["args"] if a.startswith("--state-dir="))
    saved = saved_path(pathlib.Path(state_dir), "team-a", "kite-x7k2p")

    (mount,) = [m for m in c["volumeMounts"] if saved.is_relative_to(m["mountPath"])]
    assert mount["name"] == "state" and not mount.get("readOnly", False)
