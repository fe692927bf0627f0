"""Known secret values through a full dispatch: they reach the agent, and nothing else shows
them — not a log line, event, status, metric, exception, CLI output or any process's argv.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import pathlib
import secrets
import subprocess
from typing import Any

import aiohttp
import pytest

from sprite_orchestrator.cli import demo
from sprite_orchestrator.core import redaction
from sprite_orchestrator.devserver.serving import write_kubeconfig
from tests.conftest import NS, Cluster, eventually
from tests.fakes.sprites import FakeSprites
from tests.faults.conftest import CLI, OperatorProcess
from tests.faults.test_hostile_specs import pool_body, repo_with
from tests.operator.test_dispatch import conditions, home
from tests.sprites.conftest import TOKEN, TOKEN_SECRET, provider_spec
from tests.ssh import sshd
from tests.ssh.conftest import KEY_SECRET, KNOWN_HOSTS_SECRET, ssh_pool

API_KEY = f"sk-ant-api03-LEAKCHECK-{secrets.token_hex(24)}"
DEPLOY_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    f"{base64.b64encode(secrets.token_bytes(51)).decode()}\n"
    f"{base64.b64encode(secrets.token_bytes(51)).decode()}\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)
LEAKY_SETUP = """#!/bin/bash
echo "a careless setup script prints what it can read:"
cat ~/.sprite-orchestrator/deploy_key
env
exit 1
"""


def needles(values: list[str]) -> list[str]:
    """Every form in which a leak would show: each value, each line of a key, base64."""
    found = [p for p in redaction.pieces(values) if "-----" not in p]  # PEM armour is public
    found += [base64.b64encode(v.encode()).decode() for v in values]
    return found


def leaks(where: str, text: str, values: list[str] | None = None) -> list[str]:
    return [
        f"{where}: {needle[:16]}…"
        for needle in needles(values or [API_KEY, DEPLOY_KEY])
        if needle in text
    ]


async def cli(cluster_kubeconfig: pathlib.Path, *args: str) -> str:
    """Run the CLI without blocking the loop that serves the API."""
    env = {**os.environ, "KUBECONFIG": str(cluster_kubeconfig)}
    env.pop("ANTHROPIC_API_KEY", None)
    proc = await asyncio.create_subprocess_exec(
        *CLI, *args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    return (
        f"$ orchestrator {' '.join(args)} (exit {proc.returncode})\n{out.decode(errors='replace')}"
    )


def process_args() -> str:
    return subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout


async def everything_in_the_api(cluster: Cluster) -> str:
    """Every pool, worker and task (status included) and every event, as JSON."""
    docs: list[Any] = []
    for plural in ("workerpools", "workers", "agenttasks"):
        docs += await cluster.kube.list(plural, NS)
    url = f"{cluster.url}/api/v1/namespaces/{NS}/events"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        docs += (await response.json())["items"]
    return json.dumps(docs)


async def scrape(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.text()


@pytest.mark.timeout(240)
async def test_known_secrets_reach_the_agent_and_nothing_else_shows_them(
    api: tuple[Cluster, pathlib.Path],
    operator_process: OperatorProcess,
    demo_repo: pathlib.Path,
    tmp_path: pathlib.Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    cluster, kubeconfig = api
    await cluster.kube.create_secret(NS, "claude-auth", {"ANTHROPIC_API_KEY": API_KEY.encode()})
    await cluster.kube.create_secret(NS, "deploy", {"ssh-privatekey": DEPLOY_KEY.encode()})
    with_secrets = {"authSecretRef": {"name": "claude-auth"}, "command": demo.DEMO_AGENT}
    repo = {"url": str(demo_repo), "deployKeySecretRef": {"name": "deploy"}}
    await cluster.kube.create(
        "workerpools", NS, pool_body("demo", {"repo": repo, "agent": with_secrets})
    )
    leaky = repo_with(tmp_path / "leaky", LEAKY_SETUP)
    leaky_spec = {"repo": {**repo, "url": str(leaky)}, "agent": with_secrets}
    leaky_spec["scaling"] = {"minIdle": 1, "maxWorkers": 1}
    await cluster.kube.create("workerpools", NS, pool_body("leaky", leaky_spec))
    operator_process.start()
    seen: list[tuple[str, str]] = []

    dispatching = asyncio.create_task(
        cli(kubeconfig, "dispatch", "--repo", "demo", "--command", "work demo:sleep=3", "--wait")
    )
    task = await eventually(lambda: _delivered_task(cluster), timeout=90)
    seen.append(("the process list while the agent works", process_args()))
    agent_env = await _agent_environment(cluster)
    seen.append(("CLI dispatch --wait", await dispatching))
    attached, refused = await asyncio.gather(
        cli(kubeconfig, "attach", task, "--print"),
        cli(kubeconfig, "dispatch", "--repo", "nope", "--command", "x"),
    )
    seen += [("CLI attach", attached), ("CLI dispatch to a missing pool", refused)]
    _, failed = await cluster.condition(
        "workers", "leaky-1", "Provisioned", status="False", timeout=60
    )
    seen.append(("the metrics", await scrape(operator_process.metrics_url)))
    seen.append(("the API: objects, statuses, events", await everything_in_the_api(cluster)))
    seen.append(("the operator's output", operator_process.output()))
    seen.append(("this process's logs", caplog.text))
    state = home(cluster, "demo-1") / ".sprite-orchestrator"
    seen.append(
        ("the worker's provision.log", (state / "provision.log").read_text(errors="replace"))
    )
    seen.append(("the worker's status.json", (state / "status.json").read_text(errors="replace")))

    found = [leak for where, text in seen for leak in leaks(where, text)]
    assert found == [], found
    # The values did go where they belong, so finding none above means something.
    assert agent_env.get("ANTHROPIC_API_KEY") == API_KEY
    assert (state / "deploy_key").read_text() == DEPLOY_KEY
    assert failed["reason"] == "ProvisioningFailed" and "[redacted]" in failed["message"]
    assert conditions(await cluster.get("agenttasks", task))["Succeeded"][0] == "True"
    print(f"\nscanned {len(seen)} places, {sum(len(t) for _, t in seen)} characters: 0 leaks")


async def _delivered_task(cluster: Cluster) -> str | None:
    for task in await cluster.kube.list("agenttasks", NS):
        if conditions(task).get("Delivered", ("",))[0] == "True" if task.get("status") else False:
            return str(task["metadata"]["name"])
    return None


async def _agent_environment(cluster: Cluster) -> dict[str, str]:
    from tests.faults.test_worker_faults import agent_pid

    pid = await agent_pid(cluster)
    raw = pathlib.Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(): v.decode(errors="replace") for k, v in pairs}


async def test_an_ssh_pool_s_private_key_and_api_key_show_nowhere(
    operator: Cluster,
    machines: sshd.Inventory,
    ssh_repo: pathlib.Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The SSH provider's private key lives in the operator's memory: asyncssh's own DEBUG
    logs, the API, the metrics and the machines' process lists never show it."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="asyncssh")  # it is kept at WARNING otherwise
    await operator.kube.create_secret(NS, "claude-auth", {"ANTHROPIC_API_KEY": API_KEY.encode()})
    agent = {"command": demo.DEMO_AGENT, "authSecretRef": {"name": "claude-auth"}}
    await ssh_pool(operator, machines, ssh_repo, agent=agent)
    name = await operator.task("demo", "work over ssh demo:sleep=2")
    await operator.condition("agenttasks", name, "Delivered", status="True", timeout=60)
    seen = [("the process list while the agent works", process_args())]

    task = await operator.succeeded(name, timeout=60)

    seen.append(("the metrics", await scrape(operator.metrics_url)))
    seen.append(("the API: objects, statuses, events", await everything_in_the_api(operator)))
    seen.append(("the operator's logs (DEBUG, asyncssh's too)", caplog.text))
    state = machines.hosts[0].home / ".sprite-orchestrator"
    seen.append(("the machine's provision.log", (state / "provision.log").read_text()))
    values = [API_KEY, machines.private_key.decode()]
    found = [leak for where, text in seen for leak in leaks(where, text, values)]
    assert found == [], found
    assert conditions(task)["Succeeded"] == ("True", "AgentCompleted")
    assert f"ANTHROPIC_API_KEY={API_KEY}" in (state / "agent" / "env").read_text()
    assert "asyncssh" in caplog.text  # the SSH client's own logs were in what was scanned


@pytest.mark.timeout(240)
async def test_all_four_secrets_in_one_run_on_ssh_and_sprites_show_nowhere(
    sprites_api: FakeSprites,
    operator: Cluster,
    machines: sshd.Inventory,
    ssh_repo: pathlib.Path,
    demo_repo: pathlib.Path,
    tmp_path: pathlib.Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An SSH pool and a Sprites pool in one operator, with a known API key, deploy key, SSH
    private key and Sprites token: every log at DEBUG (asyncssh's and websockets' too), the
    API, the metrics, CLI output and the process list are scanned for all four."""
    for name in ("asyncssh", "websockets", ""):
        caplog.set_level(logging.DEBUG, logger=name or None)
    kube = operator.kube
    await kube.create_secret(NS, "claude-auth", {"ANTHROPIC_API_KEY": API_KEY.encode()})
    await kube.create_secret(NS, "deploy", {"ssh-privatekey": DEPLOY_KEY.encode()})
    await kube.create_secret(NS, KEY_SECRET, {"ssh-privatekey": machines.private_key})
    await kube.create_secret(NS, KNOWN_HOSTS_SECRET, {"known_hosts": machines.known_hosts()})
    await kube.create_secret(NS, TOKEN_SECRET, {"token": TOKEN.encode()})
    spec = {
        "repo": {"deployKeySecretRef": {"name": "deploy"}},
        "agent": {"command": demo.DEMO_AGENT, "authSecretRef": {"name": "claude-auth"}},
        "scaling": {"minIdle": 0, "maxWorkers": 1},
    }
    ssh_provider = machines.provider_spec(
        key_secret=KEY_SECRET, known_hosts_secret=KNOWN_HOSTS_SECRET
    )
    pools = {  # a repo each: the sprites run as root, who refuses a repo so-test owns
        "onssh": (ssh_provider, ssh_repo),
        "onsprites": (provider_spec(sprites_api), demo_repo),
    }
    for pool, (provider, url) in pools.items():
        repo = {**spec["repo"], "url": str(url)}
        body = pool_body(pool, {**spec, "repo": repo, "provider": provider})
        await kube.create("workerpools", NS, body)
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", operator.url)
    work = "work demo:sleep=3"
    dispatching = [
        asyncio.create_task(cli(kubeconfig, "dispatch", "--repo", p, "--command", work, "--wait"))
        for p in ("onssh", "onsprites")
    ]
    await eventually(lambda: _delivered_count(operator, 2), timeout=120)
    seen = [("the process list while the agents work", process_args())]
    for done in dispatching:
        seen.append(("CLI dispatch --wait", await done))
    seen.append(("CLI status", await cli(kubeconfig, "status")))
    seen.append(("the metrics", await scrape(operator.metrics_url)))
    seen.append(("the API: objects, statuses, events", await everything_in_the_api(operator)))
    seen.append(("the operator's logs (DEBUG)", caplog.text))
    homes = {"ssh": machines.hosts[0].home, "sprite": sprites_api.sprites["onsprites-1"].home}
    for machine, where in homes.items():
        state = where / ".sprite-orchestrator"
        for file in ("provision.log", "status.json"):
            seen.append((f"the {machine} machine's {file}", (state / file).read_text()))

    values = [API_KEY, DEPLOY_KEY, machines.private_key.decode(), TOKEN]
    found = [leak for where, text in seen for leak in leaks(where, text, values)]
    assert found == [], found
    # The values did go where they belong, so finding none above means something.
    for where in homes.values():
        state = where / ".sprite-orchestrator"
        assert f"ANTHROPIC_API_KEY={API_KEY}" in (state / "agent" / "env").read_text()
        assert (state / "deploy_key").read_text() == DEPLOY_KEY
    tasks = await operator.kube.list("agenttasks", NS)
    assert [conditions(t)["Succeeded"] for t in tasks] == [("True", "AgentCompleted")] * 2
    assert "asyncssh" in caplog.text and "websockets" in caplog.text  # their logs were scanned
    print(f"\nscanned {len(seen)} places, {sum(len(t) for _, t in seen)} characters: 0 leaks")


async def _delivered_count(cluster: Cluster, count: int) -> bool:
    tasks = await cluster.kube.list("agenttasks", NS)
    delivered = [t for t in tasks if t.get("status") and conditions(t)["Delivered"][0] == "True"]
    return len(delivered) >= count
