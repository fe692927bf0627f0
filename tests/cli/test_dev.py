"""`orchestrator dev` as a user meets it: kubectl and `orchestrator dispatch` against it."""

from __future__ import annotations

import asyncio
import os
import pathlib
import shutil
import subprocess
import textwrap

import pytest
import yaml

from sprite_orchestrator.cli import demo
from tests.cli.conftest import CLI, Dev, apply


def test_dev_writes_a_private_kubeconfig(dev: Dev) -> None:
    config = yaml.safe_load(dev.kubeconfig.read_text())
    assert config["clusters"][0]["cluster"]["server"].startswith("http://127.0.0.1:")
    assert dev.kubeconfig.stat().st_mode & 0o777 == 0o600


def test_dispatch_wait_follows_a_task_to_success(dev: Dev, tmp_path: pathlib.Path) -> None:
    repo = demo.make_repo(tmp_path / "src")
    pool = demo.pool_body(repo, claude=False)
    manifest = tmp_path / "pool.yaml"
    manifest.write_text(yaml.safe_dump(pool))
    assert apply(dev, manifest)

    result = dev.run([*CLI, "dispatch", "--repo", "demo", "--command", "say hello", "--wait"])

    assert result.returncode == 0, result.stdout + result.stderr
    assert "worker: demo-1" in result.stdout
    assert "succeeded" in result.stdout and "Traceback" not in result.stderr


def test_dispatch_to_an_unknown_pool_is_a_one_line_error(dev: Dev) -> None:
    result = dev.run([*CLI, "dispatch", "--repo", "nope", "--command", "x"])
    assert result.returncode == 2
    assert "no WorkerPool 'nope'" in result.stderr and "Traceback" not in result.stderr


def test_dispatch_without_a_cluster_says_what_to_do(tmp_path: pathlib.Path) -> None:
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "missing")}
    result = subprocess.run(
        [*CLI, "dispatch", "--repo", "x", "--command", "y"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "orchestrator dev" in result.stderr and "Traceback" not in result.stderr


needs_kubectl = pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl not installed: skipping the kubectl checks"
)


@needs_kubectl
@pytest.mark.parametrize(
    ("scaling", "field"),
    [("{maxWorker: 3}", "maxWorker"), ("{maxWorkers: lots}", "maxWorkers")],
    ids=["unknown-field", "mistyped-value"],
)
def test_kubectl_refuses_a_bad_pool_naming_the_field(
    dev: Dev, tmp_path: pathlib.Path, scaling: str, field: str
) -> None:
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(
        textwrap.dedent(f"""\
        apiVersion: orchestrator.dev/v1alpha1
        kind: WorkerPool
        metadata: {{name: bad}}
        spec:
          repo: {{url: /srv/bad}}
          scaling: {scaling}
        """)
    )
    result = dev.kubectl("apply", "-f", str(manifest))
    assert result.returncode != 0
    assert field in result.stderr
    assert dev.kubectl("get", "wp", "bad").returncode != 0  # nothing was created


@needs_kubectl
def test_kubectl_get_prints_the_columns(dev: Dev, tmp_path: pathlib.Path) -> None:
    repo = demo.make_repo(tmp_path / "src")
    manifest = tmp_path / "pool.yaml"
    body = demo.pool_body(repo, claude=False)
    body["spec"]["scaling"] = {"minIdle": 1, "maxWorkers": 3}
    manifest.write_text(yaml.safe_dump(body))
    assert dev.kubectl("apply", "-f", str(manifest)).returncode == 0
    result = dev.run([*CLI, "dispatch", "--repo", "demo", "--command", "hi", "--wait"])
    assert result.returncode == 0, result.stdout

    waited = dev.kubectl("wait", "--for=condition=Ready", "wk", "--all", "--timeout=60s")
    assert waited.returncode == 0, waited.stderr
    out = dev.kubectl("get", "wp,wk,at").stdout

    lines = [line.split() for line in out.splitlines() if line.strip()]
    headers = [line for line in lines if line[0] == "NAME"]
    assert headers == [
        ["NAME", "READY", "BUSY", "MAX", "PROVIDER", "STATUS", "AGE"],
        ["NAME", "POOL", "AGENT", "TASK", "READY", "AGE"],
        ["NAME", "POOL", "WORKER", "AGENT", "SUCCEEDED", "REASON", "AGE"],
    ]
    pool_row = next(line for line in lines if line[0] == "workerpool.orchestrator.dev/demo")
    assert pool_row[2:6] == ["0", "3", "Local", "WorkersReady"]
    worker_rows = [line for line in lines if line[0].startswith("worker.orchestrator.dev/")]
    assert worker_rows[0][1:3] == ["demo", "agent:waiting"]
    task_rows = [line for line in lines if line[0].startswith("agenttask.orchestrator.dev/")]
    assert task_rows and task_rows[0][1] == "demo" and task_rows[0][2] in ("demo-1", "demo-2")
    assert task_rows[0][3:6] == [
        "agent:completed",
        "True",
        "AgentCompleted",
    ]


def test_attach_prints_the_tmux_command_of_a_task_s_worker(
    dev: Dev, tmp_path: pathlib.Path
) -> None:
    repo = demo.make_repo(tmp_path / "src")
    manifest = tmp_path / "pool.yaml"
    manifest.write_text(yaml.safe_dump(demo.pool_body(repo, claude=False)))
    created = dev.run(
        [*CLI, "dispatch", "--repo", "demo", "--command", "x", "--wait"]
        if apply(dev, manifest)
        else ["false"]
    )
    task = next(w for w in created.stdout.split() if w.startswith("agenttask/")).split("/")[1]

    printed = dev.run([*CLI, "attach", task, "--print"])

    assert printed.returncode == 0, printed.stderr
    argv = printed.stdout.split()
    assert argv[:2] == ["tmux", "-S"] and argv[-3:] == ["attach", "-t", "demo-dev"]
    listed = subprocess.run(
        [*argv[:3], "list-windows", "-t", "demo-dev", "-F", "#W"], capture_output=True, text=True
    )
    assert listed.stdout.splitlines()[0] == "shell"
    missing = dev.run([*CLI, "attach", "nope", "--print"])
    assert missing.returncode == 2 and "no Worker or AgentTask named 'nope'" in missing.stderr


def test_cancel_stops_a_running_task(dev: Dev, tmp_path: pathlib.Path) -> None:
    repo = demo.make_repo(tmp_path / "src")
    manifest = tmp_path / "pool.yaml"
    manifest.write_text(yaml.safe_dump(demo.pool_body(repo, claude=False)))
    assert apply(dev, manifest)
    started = dev.run([*CLI, "dispatch", "--repo", "demo", "--command", "long demo:sleep=60"])
    task = next(w for w in started.stdout.split() if w.startswith("agenttask/")).split("/")[1]

    cancelled = dev.run([*CLI, "cancel", task])

    assert cancelled.returncode == 0, cancelled.stderr
    assert f"wip/{task}" in cancelled.stdout
    from sprite_orchestrator.kube import Kube, configuration

    kube = Kube(configuration(kubeconfig=str(dev.kubeconfig)))

    async def reason() -> str | None:
        for _ in range(300):
            body = await kube.get("agenttasks", "default", task)
            found = [
                c
                for c in (body.get("status") or {}).get("conditions", [])
                if c["type"] == "Succeeded" and c["status"] == "False"
            ]
            if found:
                return str(found[0]["reason"])
            await asyncio.sleep(0.1)
        return None

    assert asyncio.run(reason()) == "Cancelled"
    missing = dev.run([*CLI, "cancel", "nope"])
    assert missing.returncode == 2 and "no AgentTask 'nope'" in missing.stderr
