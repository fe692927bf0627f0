"""Hostile and broken specs: the API refuses them naming the field, or the object says what is
wrong in a condition; either way the operator keeps serving the good ones.

Also a setup script that prints 100 MB and then the deploy key: what users read (the
condition, the event) is bounded and shows no secret.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from sprite_orchestrator import API_VERSION
from sprite_orchestrator.cli import demo
from tests.conftest import NS, Cluster, eventually
from tests.operator.test_dispatch import conditions

PWNED = pathlib.Path("/tmp/sprite-orchestrator-pwned")  # what an injection would touch


def pool_body(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "WorkerPool",
        "metadata": {"name": name, "namespace": NS},
        "spec": spec,
    }


# (what, the object's name, its spec, the field the API's 422 names). An unknown field is
# pruned with a warning unless the client asks for strict validation, as kubectl does: see
# tests/cli/test_dev.py.
X: dict[str, Any] = {"url": "/x"}
ENV_65 = [{"name": f"V{i}", "value": "v"} for i in range(65)]
REFUSED = [
    ("a name with ..", "../etc", {"repo": X}, "metadata.name"),
    ("a name with /", "a/b", {"repo": X}, "metadata.name"),
    ("a name with ;", "a;b", {"repo": X}, "metadata.name"),
    ("a name with a space", "a b", {"repo": X}, "metadata.name"),
    ("a unicode name", "wörkers", {"repo": X}, "metadata.name"),
    ("a wrong type", "typed", {"repo": X, "scaling": {"maxWorkers": "lots"}}, "maxWorkers"),
    ("no repo", "norepo", {}, "repo"),
    ("a repo that is a list", "listrepo", {"repo": ["/x"]}, "repo"),
    ("65 agent words", "huge-argv", {"repo": X, "agent": {"command": ["x"] * 65}}, "command"),
    ("65 env vars", "huge-env", {"repo": X, "agent": {"env": ENV_65}}, "env"),
    ("a 3 KB URL", "long-url", {"repo": {"url": "/" + "x" * 3000}}, "url"),
    ("an env name with ;", "env-name", {"repo": X, "agent": {"env": [{"name": "A;B"}]}}, "name"),
    ("a bad permission mode", "mode", {"repo": X, "agent": {"permissionMode": "yolo"}}, "Mode"),
]


@pytest.mark.parametrize(("what", "name", "spec", "field"), REFUSED, ids=[r[0] for r in REFUSED])
async def test_the_api_refuses_a_hostile_pool_naming_the_field(
    operator: Cluster, what: str, name: str, spec: dict[str, Any], field: str
) -> None:
    with pytest.raises(ApiException) as refused:
        await operator.kube.create("workerpools", NS, pool_body(name, spec))
    assert refused.value.status == 422, refused.value.body
    assert field in json.loads(refused.value.body)["message"]
    assert await operator.kube.list("workerpools", NS) == []


def repo_with(root: pathlib.Path, setup: str) -> pathlib.Path:
    repo = demo.make_repo(root)
    (repo / "scripts" / "dev-setup.sh").write_text(setup)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(["git", "commit", "-qam", "setup"], cwd=repo, env=env, check=True)
    return repo


async def test_hostile_specs_are_conditions_and_the_operator_keeps_going(
    operator: Cluster, demo_repo: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    PWNED.unlink(missing_ok=True)
    weird = tmp_path / "ünïcödé repo; with spaces"
    weird.mkdir()
    bad_pools = {
        # (spec, the Worker's Provisioned reason, words in its message)
        "injected-url": (
            {"repo": {"url": f"/nonexistent; touch {PWNED}"}},
            "ProvisioningFailed",
            "clone",
        ),
        "unicode-url": ({"repo": {"url": str(weird)}}, "ProvisioningFailed", "clone"),
        "dotdot-setup": (
            {"repo": {"url": str(demo_repo), "setupScript": "../../../etc/passwd"}},
            "InvalidSpec",
            "invalid relative path '../../../etc/passwd'",
        ),
        "option-ref": (
            {"repo": {"url": str(demo_repo), "ref": "--upload-pack=touch"}},
            "InvalidSpec",
            "invalid git ref",
        ),
        "no-auth": (
            {"repo": {"url": str(demo_repo)}, "agent": {"authSecretRef": {"name": "missing"}}},
            "SecretNotFound",
            "Secret missing not found",
        ),
        "no-key": (
            {"repo": {"url": str(demo_repo), "deployKeySecretRef": {"name": "gone"}}},
            "SecretNotFound",
            "Secret gone not found",
        ),
    }
    for name, (spec, _, _) in bad_pools.items():
        body = pool_body(
            name, {**spec, "agent": {"command": demo.DEMO_AGENT, **spec.get("agent", {})}}
        )
        body["spec"]["scaling"] = {"minIdle": 1, "maxWorkers": 1}
        await operator.kube.create("workerpools", NS, body)
    await operator.pool("good", demo_repo)
    from_missing = await operator.task(
        "good", None, promptFrom={"secretKeyRef": {"name": "nowhere", "key": "prompt"}}
    )

    for name, (_, reason, words) in bad_pools.items():
        _, found = await operator.condition(
            "workers", f"{name}-1", "Provisioned", status="False", timeout=60
        )
        assert found["reason"] == reason, (name, found)
        assert words in found["message"], (name, found["message"])
    task = await operator.succeeded(from_missing)
    assert conditions(task)["Succeeded"] == ("False", "InvalidSpec")
    good = await operator.task("good", "and the good one still runs")
    assert conditions(await operator.succeeded(good, timeout=60))["Succeeded"][0] == "True"
    assert not PWNED.exists()  # the URL was an argument to git, never shell


DEPLOY_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACBhZmFrZWtleWZvcnRoZXRlc3Rzb25seWRvbm90dXNlaXQAAAAAAAAAAAAA\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)
NOISY_SETUP = """#!/bin/bash
echo "installing the world"
yes 'npm WARN deprecated left-pad@1.0.0: this line repeats until 100 MB' | head -c 100000000
echo
echo "the deploy key, printed by a careless script:"
cat ~/.sprite-orchestrator/deploy_key
exit 7
"""


async def test_a_setup_script_printing_100_mb_and_a_key_is_bounded_and_redacted(
    operator: Cluster, tmp_path: pathlib.Path
) -> None:
    repo = repo_with(tmp_path / "noisy", NOISY_SETUP)
    await operator.kube.create_secret(NS, "deploy", {"ssh-privatekey": DEPLOY_KEY.encode()})
    spec = {
        "repo": {"url": str(repo), "deployKeySecretRef": {"name": "deploy"}},
        "agent": {"command": demo.DEMO_AGENT},
        "scaling": {"minIdle": 1, "maxWorkers": 1},
    }
    await operator.kube.create("workerpools", NS, pool_body("noisy", spec))

    worker, found = await operator.condition(
        "workers", "noisy-1", "Provisioned", status="False", timeout=90
    )

    assert found["reason"] == "ProvisioningFailed"
    message = found["message"]
    assert "exit code 7" in message and "[redacted]" in message
    assert len(message.encode()) < 10_000  # of 100 MB printed
    warned = await eventually(lambda: _warnings(operator, "noisy-1"))
    assert all(len(event) <= 1024 for event in warned)
    said = "\n".join(warned)
    for line in DEPLOY_KEY.splitlines():
        if len(line) >= 8:
            assert line not in message and line not in said
    log = operator.state_dir / "local" / NS / "noisy" / "noisy-1" / "home" / ".sprite-orchestrator"
    assert (log / "provision.log").stat().st_size > 100_000_000  # all of it kept on the machine
    assert worker["status"]["conditions"]


async def _warnings(cluster: Cluster, name: str) -> list[str] | None:
    import aiohttp

    url = f"{cluster.url}/api/v1/namespaces/{NS}/events"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        items = (await response.json())["items"]
    found = [e["message"] for e in items if e["involvedObject"]["name"] == name]
    return found or None
