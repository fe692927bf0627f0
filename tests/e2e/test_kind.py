"""The walking skeleton on a real cluster: the chart's operator runs a task with the Local
provider inside its own pod (`make e2e`; skipped where Docker or kind is absent)."""

from __future__ import annotations

import json
import pathlib

import pytest

from sprite_orchestrator import API_VERSION
from sprite_orchestrator.cli import demo
from sprite_orchestrator.core import prompts
from tests.e2e.conftest import Kind

pytestmark = pytest.mark.e2e

STATE = pathlib.PurePosixPath("/var/lib/sprite-orchestrator")
PROMPT = "fix the authentication bug"


def test_a_task_runs_on_a_local_worker_in_the_operator_pod(kind: Kind) -> None:
    make = "import pathlib, sys; from sprite_orchestrator.cli import demo; "
    make += "print(demo.make_repo(pathlib.Path(sys.argv[1])))"
    repo = kind.in_operator("python", "-c", make, str(STATE / "src")).strip()
    kind.apply([demo.pool_body(pathlib.Path(repo), claude=False)])
    task = {
        "apiVersion": API_VERSION,
        "kind": "AgentTask",
        "metadata": {"generateName": "demo-", "namespace": "default"},
        "spec": {"pool": demo.POOL, "prompt": PROMPT},
    }
    name = kind.kubectl("create", "-f", "-", "-o", "name", stdin=json.dumps(task)).strip()

    kind.kubectl("wait", "--for=condition=Succeeded", name, "--timeout=300s", timeout=330)
    status = json.loads(kind.kubectl("get", name, "-o", "json"))["status"]

    succeeded = next(c for c in status["conditions"] if c["type"] == "Succeeded")
    assert (succeeded["status"], succeeded["reason"]) == ("True", "AgentCompleted")
    assert status["promptSha256"] == prompts.sha256(prompts.encode(PROMPT))
    home = STATE / "local" / "default" / demo.POOL / status["workerName"] / "home"
    pasted = kind.in_operator("cat", str(home / ".sprite-orchestrator/demo-agent/prompts/1.txt"))
    assert pasted == PROMPT
