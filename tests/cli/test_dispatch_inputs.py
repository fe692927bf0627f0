"""What `dispatch` takes from a user: a prompt file or stdin of any size, --timeout, and the
kubeconfig's context and namespace; and the outputs of `crds` and `version`."""

from __future__ import annotations

import pathlib

import yaml

from sprite_orchestrator import __version__
from sprite_orchestrator.devserver.serving import write_kubeconfig
from tests.cli.conftest import Dev, task_name
from tests.cli.test_errors import one_line, run
from tests.conftest import free_port

ROOT = pathlib.Path(__file__).parents[2]
LINE = "日本語 ünïcödé 👩‍💻 é\ttab $HOME `ls` 'q' \"d\" #{session_name} #[fg=red] ; && x\n"
BIG = LINE * (200_000 // len(LINE.encode()))  # ~200 KB of multibyte text


def received(dev: Dev, worker: str) -> list[bytes]:
    """What the demo agent on the worker got, one file per paste."""
    home = dev.root / "workers" / "local" / "default" / "demo" / worker / "home"
    folder = home / ".sprite-orchestrator" / "demo-agent" / "prompts"
    return [p.read_bytes() for p in sorted(folder.glob("*.txt"), key=lambda p: int(p.stem))]


def test_prompts_from_a_file_and_stdin_arrive_byte_for_byte(
    dev: Dev, tmp_path: pathlib.Path
) -> None:
    dev.pool(tmp_path, minIdle=0, maxWorkers=1)
    prompt_file = tmp_path / "prompt.txt"
    prompt_file.write_bytes(BIG.encode())
    from_stdin = "from stdin: " + BIG[::-1].replace("\u200d", "")  # another prompt, as large

    by_file = dev.cli("dispatch", "--repo", "demo", "--from-file", str(prompt_file), "--wait")
    by_stdin = dev.cli(
        "dispatch",
        "--repo",
        "demo",
        "--from-file",
        "-",
        "--timeout",
        "900",
        "--wait",
        input=from_stdin,
    )

    assert by_file.returncode == 0, by_file.stdout + by_file.stderr
    assert by_stdin.returncode == 0, by_stdin.stdout + by_stdin.stderr
    first, second = (dev.json("status", task_name(r))["task"] for r in (by_file, by_stdin))
    assert len(BIG.encode()) > 190_000 and first["spec"]["prompt"] == BIG
    assert second["spec"]["prompt"] == from_stdin
    assert "timeoutSeconds" not in first["spec"] and second["spec"]["timeoutSeconds"] == 900
    assert received(dev, "demo-1") == [BIG.encode(), from_stdin.encode()]
    assert "timeout:     900s" in dev.cli("status", task_name(by_stdin)).stdout


def test_context_and_its_namespace_come_from_the_kubeconfig(dev: Dev) -> None:
    served = yaml.safe_load(dev.kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    both = dev.root / "two-contexts"
    write_kubeconfig(both, f"http://127.0.0.1:{free_port()}")  # current: nobody listens
    config = yaml.safe_load(both.read_text())
    config["clusters"].append({"name": "dev", "cluster": {"server": served}})
    config["contexts"].append(
        {"name": "team", "context": {"cluster": "dev", "user": config["users"][0]["name"]}}
    )
    config["contexts"][-1]["context"]["namespace"] = "team-a"
    both.write_text(yaml.safe_dump(config))

    argv = ["dispatch", "--repo", "demo", "--command", "hi", "--context", "team"]
    one_line(run(argv, both), "no WorkerPool 'demo' in namespace 'team-a'")
    one_line(run([*argv, "-n", "default"], both), "no WorkerPool 'demo' in namespace 'default'")
    one_line(run(argv[:-2], both), "cannot reach the Kubernetes API")  # the current context


def test_crds_prints_the_crds_of_the_repository(tmp_path: pathlib.Path) -> None:
    printed = run(["crds"], tmp_path / "missing")  # needs no cluster

    assert printed.returncode == 0, printed.stderr
    committed = [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "crds").glob("*.yaml"))]
    docs = list(yaml.safe_load_all(printed.stdout))
    assert sorted(docs, key=lambda d: d["metadata"]["name"]) == committed
    assert {d["kind"] for d in docs} == {"CustomResourceDefinition"}
    written = run(["crds", "-o", str(tmp_path / "out")], tmp_path / "missing")
    assert written.returncode == 0, written.stderr
    for path in (ROOT / "crds").glob("*.yaml"):
        assert (tmp_path / "out" / path.name).read_text() == path.read_text()


def test_version_prints_the_package_version(tmp_path: pathlib.Path) -> None:
    printed = run(["version"], tmp_path / "missing")
    assert (printed.returncode, printed.stdout) == (0, f"{__version__}\n")
