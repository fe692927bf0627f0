"""A task's transcript: read rarely while it runs (polls stay cheap), kept off the worker."""

from __future__ import annotations

import functools
import json
import pathlib

from sprite_orchestrator.core import tasks as t
from sprite_orchestrator.core import transcripts
from sprite_orchestrator.handlers import transcripts as refreshing
from sprite_orchestrator.handlers.transcripts import saved_path
from sprite_orchestrator.models import AgentTaskStatus
from tests.conftest import NS, Cluster, eventually
from tests.core.test_tasks import KW, delivered

READ_AT = 1795600800.0  # KW["now"] in seconds


def test_a_running_summary_is_read_again_only_every_refresh_polls() -> None:
    running = delivered().model_copy(update={"session_id": "0-1-2"})
    status = t.summarized(running, transcripts.Summary(turns=1), **KW)
    due = functools.partial(refreshing.due, poll_seconds=5)

    assert not due(status, now=READ_AT + 5 * refreshing.REFRESH_POLLS - 1)
    assert due(status, now=READ_AT + 5 * refreshing.REFRESH_POLLS)
    assert due(running, now=READ_AT)  # never read: read now
    assert not due(AgentTaskStatus(), now=READ_AT)  # no session: nothing to read


async def test_a_destroyed_workers_transcript_is_kept_in_the_state_dir(
    operator: Cluster, demo_repo: pathlib.Path
) -> None:
    await operator.pool("demo", demo_repo)
    name = await operator.task("demo", "a slow task demo:sleep=60")
    task, _ = await operator.condition("agenttasks", name, "Delivered", status="True", timeout=60)

    await operator.kube.delete("workers", NS, task["status"]["workerName"])
    saved = saved_path(operator.state_dir, NS, name)
    await eventually(lambda: _exists(saved))

    (line,) = [json.loads(x) for x in saved.read_bytes().splitlines()]
    assert (line["type"], line["sessionId"]) == ("user", task["status"]["sessionId"])
    assert line["message"]["content"] == "a slow task demo:sleep=60"


async def _exists(path: pathlib.Path) -> bool:
    return path.exists()
