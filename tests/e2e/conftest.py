"""A kind cluster with the operator installed from the chart, for `make e2e`.

Needs Docker (a running daemon), kind and kubectl; without them every e2e test is skipped
with a message that says what is missing. The cluster is deleted after the session.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.chart.charting import FULLNAME, NAMESPACE, objects

ROOT = pathlib.Path(__file__).parents[2]
CLUSTER = "sprite-orchestrator-e2e"
IMAGE, TAG = "sprite-orchestrator", "e2e"
DEPLOYMENT = f"deployment/{FULLNAME}"


def missing() -> str | None:
    """What this machine lacks for the e2e tests, or None."""
    absent = [tool for tool in ("docker", "kind", "kubectl") if shutil.which(tool) is None]
    if absent:
        return f"e2e needs {', '.join(absent)} on PATH (https://kind.sigs.k8s.io/)"
    daemon = subprocess.run(["docker", "info"], capture_output=True, text=True)
    if daemon.returncode != 0:
        return f"e2e needs a running Docker daemon: {daemon.stderr.strip()[:200]}"
    return None


def run(*argv: str, stdin: str | None = None, timeout: float = 900) -> str:
    """Run a command; on failure raise with its output (what the e2e log should show)."""
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


class Kind:
    """kubectl against the e2e cluster's context."""

    context = f"kind-{CLUSTER}"

    def kubectl(self, *args: str, stdin: str | None = None, timeout: float = 300) -> str:
        return run("kubectl", "--context", self.context, *args, stdin=stdin, timeout=timeout)

    def apply(self, docs: list[dict[str, Any]], *, namespace: str | None = None) -> None:
        ns = ["-n", namespace] if namespace else []
        items = json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})
        self.kubectl("apply", *ns, "-f", "-", stdin=items)

    def in_operator(self, *argv: str) -> str:
        """A command in the operator's pod, where the Local provider's workers live."""
        return self.kubectl("exec", "-n", NAMESPACE, DEPLOYMENT, "--", *argv)


@pytest.fixture(scope="session")
def kind() -> Iterator[Kind]:
    """A fresh kind cluster with the image loaded and the chart installed; deleted after."""
    reason = missing()
    if reason is not None:
        pytest.skip(reason)
    image = f"{IMAGE}:{TAG}"
    run("docker", "build", "-f", "Containerfile", "-t", image, "--build-arg",
        "CLAUDE_CODE_VERSION=", str(ROOT), timeout=1800)  # fmt: skip
    run("kind", "create", "cluster", "--name", CLUSTER, "--wait", "180s")
    cluster = Kind()
    try:
        run("kind", "load", "docker-image", image, "--name", CLUSTER)
        cluster.kubectl("apply", "-f", str(ROOT / "crds"))
        cluster.kubectl("create", "namespace", NAMESPACE)
        values = {"image": {"repository": IMAGE, "tag": TAG, "pullPolicy": "Never"}}
        cluster.apply(objects(values), namespace=NAMESPACE)
        cluster.kubectl("rollout", "status", "-n", NAMESPACE, DEPLOYMENT, "--timeout=300s")
        yield cluster
    finally:
        run("kind", "delete", "cluster", "--name", CLUSTER)
