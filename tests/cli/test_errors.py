"""Every error a person can run into: one line saying what is wrong and what to do, exit 2."""

from __future__ import annotations

import asyncio
import os
import pathlib
import subprocess

import pytest
from aiohttp import web

from sprite_orchestrator.devserver.emulator import Emulator
from sprite_orchestrator.devserver.serving import serve, write_kubeconfig
from tests.cli.conftest import CLI, Dev
from tests.conftest import free_port

COMMANDS = [
    ["status"],
    ["status", "demo-x"],
    ["workers"],
    ["workers", "--repo", "demo"],
    ["pools"],
    ["send", "demo-1", "y"],
    ["reset", "demo-1"],
    ["drain", "demo"],
    ["dispatch", "--repo", "demo", "--command", "hi"],
    ["cancel", "demo-x"],
    ["attach", "demo-1", "--print"],
    ["logs", "demo-1"],
]
IDS = ["-".join(c[:2]) for c in COMMANDS]


def run(argv: list[str], kubeconfig: pathlib.Path, **kwargs: object) -> subprocess.CompletedProcess:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    return subprocess.run(
        [*CLI, *argv], env=env, capture_output=True, text=True, timeout=90, **kwargs
    )


def one_line(result: subprocess.CompletedProcess, *expected: str) -> None:
    """Exit 2, one line on stderr that says it all, no traceback, nothing on stdout."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for text in expected:
        assert text in lines[0]


@pytest.mark.parametrize("argv", COMMANDS, ids=IDS)
def test_no_kubeconfig(argv: list[str], tmp_path: pathlib.Path) -> None:
    one_line(run(argv, tmp_path / "missing"), "no usable kubeconfig", "orchestrator dev")


@pytest.mark.parametrize("argv", COMMANDS, ids=IDS)
def test_api_unreachable(argv: list[str], tmp_path: pathlib.Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    url = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    write_kubeconfig(kubeconfig, url)
    one_line(
        run(argv, kubeconfig), f"cannot reach the Kubernetes API at {url}", "Is the cluster up"
    )


async def test_api_refuses(tmp_path: pathlib.Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _forbidden)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        write_kubeconfig(kubeconfig, f"http://127.0.0.1:{port}")
        for argv in COMMANDS:
            result = await asyncio.to_thread(run, argv, kubeconfig)
            one_line(result, "refused the request (403 Forbidden)", "RBAC")
    finally:
        await runner.cleanup()


async def _forbidden(request: web.Request) -> web.Response:
    """An API server that refuses everyone, as it refuses a user without RBAC rights."""
    return web.json_response({"kind": "Status", "code": 403}, status=403, reason="Forbidden")


async def test_crds_not_installed(tmp_path: pathlib.Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    async with serve(emulator=Emulator(), port=0) as served:  # an API without our kinds
        write_kubeconfig(kubeconfig, served.url)
        for argv in COMMANDS:
            result = await asyncio.to_thread(run, argv, kubeconfig)
            one_line(result, "CRDs are not installed", "orchestrator crds | kubectl apply -f -")


def test_unknown_names(dev: Dev, tmp_path: pathlib.Path) -> None:
    dev.pool(tmp_path, minIdle=0, maxWorkers=1)
    lists = {"AgentTask": "status", "Worker": "workers", "WorkerPool": "pools"}
    for argv, kind in [
        (["status", "nope"], "AgentTask"),
        (["cancel", "nope"], "AgentTask"),
        (["attach", "nope", "--print"], "Worker or AgentTask"),
        (["logs", "nope"], "AgentTask or Worker"),
        (["send", "nope", "y"], "Worker"),
        (["reset", "nope"], "Worker"),
        (["drain", "nope"], "WorkerPool"),
        (["workers", "--repo", "nope"], "WorkerPool"),
        (["dispatch", "--repo", "nope", "--command", "x"], "WorkerPool"),
    ]:
        result = dev.cli(*argv)
        one_line(result, f"no {kind} ", "'nope'", "namespace 'default'")
        if kind in lists:
            assert f"orchestrator {lists[kind]} -n default" in result.stderr


@pytest.mark.parametrize(
    ("argv", "stdin"),
    [
        (["dispatch", "--repo", "demo", "--command", "  \n"], None),
        (["dispatch", "--repo", "demo", "--from-file", "-"], ""),
        (["send", "demo-1", ""], None),
        (["send", "demo-1", "-"], "\n"),
    ],
    ids=["command", "stdin", "send", "send-stdin"],
)
def test_empty_text(argv: list[str], stdin: str | None, tmp_path: pathlib.Path) -> None:
    result = run(argv, tmp_path / "missing", input=stdin)  # refused before any connection
    one_line(result, "empty")


@pytest.mark.parametrize(
    ("make", "expected"),
    [(lambda p: p / "nope.txt", "no such file"), (lambda p: p, "is a directory")],
    ids=["missing", "directory"],
)
def test_a_prompt_file_that_cannot_be_read(make, expected: str, tmp_path: pathlib.Path) -> None:
    path = str(make(tmp_path))
    result = run(["dispatch", "--repo", "demo", "--from-file", path], tmp_path / "missing")
    one_line(result, f"--from-file {path}", expected, "or - for stdin")


def test_send_refuses_stdin_that_is_not_utf8(tmp_path: pathlib.Path) -> None:
    latin1 = "y\udcff\udcfe\n"  # the bytes y, 0xff, 0xfe, newline
    result = run(
        ["send", "demo-1", "-"], tmp_path / "missing", input=latin1, errors="surrogateescape"
    )
    one_line(result, "stdin is not UTF-8 text (byte 1 is not)", "nothing was sent")
