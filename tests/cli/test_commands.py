"""The read commands, `send`, `reset` and `drain`, driven as a user drives them."""

from __future__ import annotations

import pathlib

import yaml

from tests.cli.conftest import Dev, eventually, task_name


def rows(text: str) -> list[list[str]]:
    """A kubectl-like table as its words per line."""
    return [line.split() for line in text.splitlines() if line.strip()]


def task(dev: Dev, name: str) -> dict:
    return dev.json("status", name)["task"]


def condition(body: dict, type_: str) -> tuple[str, str]:
    found = next(x for x in body["status"]["conditions"] if x["type"] == type_)
    return found["status"], found["reason"]


def test_status_workers_pools_follow_a_waiting_task_and_a_human_answer(
    dev: Dev, tmp_path: pathlib.Path
) -> None:
    dev.pool(tmp_path, minIdle=0, maxWorkers=1)
    asking = task_name(dev.cli("dispatch", "--repo", "demo", "--command", "may I? demo:ask"))
    eventually(lambda: condition(task(dev, asking), "NeedsInput")[0] == "True")
    queued = task_name(dev.cli("dispatch", "--repo", "demo", "--command", "then this"))
    eventually(lambda: condition(task(dev, queued), "Scheduled")[1] == "PoolExhausted")

    table = dev.cli("status")
    assert table.returncode == 0, table.stderr
    assert "\x1b[" not in table.stdout  # no colour into a pipe
    lines = rows(table.stdout)
    assert lines[0] == ["NAME", "POOL", "WORKER", "AGENT", "SUCCEEDED", "REASON", "QUEUE", "AGE"]
    assert lines[1][:7] == [asking, "demo", "demo-1", "agent:running", "Unknown", "NeedsInput", "-"]
    assert lines[2][:7] == [queued, "demo", "-", "-", "Unknown", "PoolExhausted", "1/1"]
    assert f"{queued} waits: all 1 workers of pool demo are busy (maxWorkers)" in table.stdout
    assert f"{asking} needs input: orchestrator attach demo-1" in table.stdout
    [listed] = [r for r in dev.json("status") if r["name"] == queued]
    assert listed["waiting"] == {
        "reason": "PoolExhausted",
        "message": "all 1 workers of pool demo are busy (maxWorkers); it waits its turn"
        " (priority, then oldest first)",
        "position": 1,
        "queueLength": 1,
    }

    workers = rows(dev.cli("workers").stdout)
    assert workers[0] == ["NAME", "POOL", "AGENT", "TASK", "IDLE", "READY", "AGE"]
    assert workers[1][:6] == ["demo-1", "demo", "agent:running", asking, "-", "False/Busy"]
    as_yaml = yaml.safe_load(dev.cli("workers", "--repo", "demo", "-o", "yaml").stdout)
    assert [(w["name"], w["task"]) for w in as_yaml] == [("demo-1", asking)]
    pools = rows(dev.cli("pools").stdout)
    assert pools[0] == ["NAME", "REPLICAS", "READY", "BUSY", "MAX", "PROVIDER", "STATUS", "AGE"]
    assert pools[1][:7] == ["demo", "1", "0", "1", "1", "Local", "False/PoolExhausted"]
    assert dev.json("pools")[0]["ready"]["reason"] == "PoolExhausted"

    sent = dev.cli("send", "demo-1", "-", input="y\n")  # the human approves

    assert sent.returncode == 0, sent.stderr
    assert "sent 1 bytes to demo-1" in sent.stdout
    eventually(lambda: condition(task(dev, queued), "Succeeded") == ("True", "AgentCompleted"))
    full = dev.cli("status", asking)
    assert full.returncode == 0, full.stderr
    shown = full.stdout
    assert f"agenttask/{asking}  pool demo" in shown
    assert "'may I? demo:ask'" in shown and task(dev, asking)["status"]["promptSha256"] in shown
    assert f"wip/{asking} at " in shown
    status = task(dev, asking)["status"]
    source, summary = status["agentStateSource"], status["transcript"]
    assert f"agent:       agent:completed (from the {source}, for " in shown
    assert f"ago; orchestrator logs {asking} shows more)" in shown.split("Transcript (read ")[1]
    assert f"  turns:       {summary['turns']}\n" in shown and summary["turns"] >= 1
    tokens = f"{summary['inputTokens']} in, {summary['outputTokens']} out"
    assert f"  tokens:      {tokens}; ${summary['costUSD']:.4f} ({summary['costSource']})" in shown
    assert f"  last message: {summary['lastMessage']}\n" in shown and summary["lastMessage"]
    for reason in ("TaskScheduled", "PromptDelivered", "AgentCompleted"):
        assert reason in shown.split("Events", 1)[1]
    assert rows(shown.split("Conditions")[1])[4][:3] == ["Succeeded", "True", "AgentCompleted"]
    events = dev.json("status", asking)["events"]
    assert {e["reason"] for e in events} >= {"TaskScheduled", "PromptDelivered", "AgentCompleted"}


def test_reset_and_drain_ask_the_operator_and_it_honours_them(
    dev: Dev, tmp_path: pathlib.Path
) -> None:
    dev.pool(tmp_path, minIdle=1, maxWorkers=1)
    eventually(lambda: [w for w in dev.json("workers") if w["ready"]["status"] == "True"])
    machine = pathlib.Path(dev.json("workers")[0]["machine"])
    (machine / "home" / "stray.txt").write_text("left behind\n")

    reset = dev.cli("reset", "demo-1")

    assert reset.returncode == 0, reset.stderr
    assert "worker/demo-1 reset requested (orchestrator.dev/reset-requested=" in reset.stdout
    eventually(lambda: not (machine / "home" / "stray.txt").exists())
    eventually(lambda: dev.json("workers")[0]["ready"]["status"] == "True")
    assert dev.json("workers")[0]["resetRequested"] is None

    drained = dev.cli("drain", "demo")

    assert drained.returncode == 0, drained.stderr
    assert "Undo: orchestrator drain demo --undo" in drained.stdout
    eventually(lambda: dev.json("workers") == [])
    [pool] = dev.json("pools")
    assert pool["draining"] is True and pool["ready"]["reason"] == "Draining"
    waits = dev.cli("dispatch", "--repo", "demo", "--command", "after the drain")
    assert "pool demo is draining (orchestrator drain demo --undo resumes it)" in waits.stdout
    name = task_name(waits)

    assert dev.cli("drain", "demo", "--undo").returncode == 0

    eventually(lambda: condition(task(dev, name), "Succeeded") == ("True", "AgentCompleted"))
    assert dev.json("pools")[0]["draining"] is False


def test_dispatch_wait_exits_1_when_the_task_fails(dev: Dev, tmp_path: pathlib.Path) -> None:
    dev.pool(tmp_path, minIdle=0, maxWorkers=1)

    result = dev.cli("dispatch", "--repo", "demo", "--command", "break demo:error", "--wait")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "failed" in result.stdout and "AgentError" in result.stdout
    assert "Traceback" not in result.stderr
