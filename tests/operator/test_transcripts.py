"""How often the operator reads a running task's transcript: rarely, polls stay cheap."""

from __future__ import annotations

import functools

from sprite_orchestrator.core import tasks as t
from sprite_orchestrator.core import transcripts
from sprite_orchestrator.handlers import transcripts as refreshing
from sprite_orchestrator.models import AgentTaskStatus
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
