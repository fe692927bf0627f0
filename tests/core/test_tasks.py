from __future__ import annotations

import pytest

from sprite_orchestrator.core import conditions as c
from sprite_orchestrator.core import readings
from sprite_orchestrator.core import tasks as t
from sprite_orchestrator.models import AgentTaskStatus

KW = {"generation": 1, "now": "2026-11-25T10:00:00Z"}
LATER = {"generation": 1, "now": "2026-11-25T10:05:00Z"}


def cond(status: AgentTaskStatus, type_: str) -> tuple[str, str]:
    found = c.find(status.conditions, type_)
    assert found is not None
    return found.status, found.reason


def delivered() -> AgentTaskStatus:
    s = t.scheduled(AgentTaskStatus(), "kite-1", **KW)
    return t.delivered(s, "kite-1", "ab" * 32, **KW)


def test_initial_conditions_are_set_on_first_visit_with_unknown_success() -> None:
    s = t.initial(AgentTaskStatus(), **KW)
    assert [x.type for x in s.conditions] == ["Scheduled", "Delivered", "NeedsInput", "Succeeded"]
    assert cond(s, "Succeeded") == ("Unknown", "Pending")
    assert all(x.observed_generation == 1 for x in s.conditions)
    assert t.initial(s, **LATER) == s


def test_happy_path_ends_succeeded_true() -> None:
    s = delivered()
    assert (s.worker_name, s.attempts, s.prompt_sha256) == ("kite-1", 1, "ab" * 32)
    assert cond(s, "Delivered") == ("True", "PromptDelivered")
    s = t.observed(s, readings.Reading("agent:running"), **LATER)
    assert cond(s, "Succeeded") == ("Unknown", "Running")
    s = t.observed(s, readings.Reading("agent:completed"), **LATER)
    assert cond(s, "Succeeded") == ("True", "AgentCompleted")
    assert s.completion_time == LATER["now"] and s.agent_state == "agent:completed"
    assert t.is_finished(s)


def test_agent_error_ends_false_with_reason_and_message() -> None:
    reading = readings.read(
        session_exists=True, window_name="agent:error", pane_dead=False, error="rate_limit"
    )
    s = t.observed(delivered(), reading, **LATER)
    assert cond(s, "Succeeded") == ("False", "AgentError")
    assert "rate_limit" in (c.find(s.conditions, "Succeeded").message)  # type: ignore[union-attr]


def test_a_finished_task_stays_finished() -> None:
    s = t.observed(delivered(), readings.Reading("agent:completed"), **KW)
    assert t.observed(s, readings.Reading("agent:error"), **LATER) == s
    assert t.failed(s, t.TIMED_OUT, "late", **LATER) == s


def test_observations_before_delivery_change_nothing() -> None:
    s = t.scheduled(AgentTaskStatus(), "kite-1", **KW)
    assert t.observed(s, readings.Reading("agent:completed"), **LATER) == s


def test_needs_input_while_running() -> None:
    s = t.observed(delivered(), readings.Reading("agent:running", needs_input=True), **LATER)
    assert cond(s, "NeedsInput") == ("True", "WaitingForHuman")
    s = t.observed(s, readings.Reading("agent:running"), **LATER)
    assert cond(s, "NeedsInput") == ("False", "Running")


def test_waiting_then_scheduled_counts_one_attempt_and_is_idempotent() -> None:
    s = t.waiting(AgentTaskStatus(), "PoolExhausted", "all busy", **KW)
    assert cond(s, "Scheduled") == ("False", "PoolExhausted")
    s = t.scheduled(s, "kite-1", **LATER)
    assert t.scheduled(s, "kite-1", **LATER) == s
    assert s.attempts == 1 and s.start_time == LATER["now"]


def test_invalid_spec_fails_unscheduled() -> None:
    s = t.failed(AgentTaskStatus(), t.INVALID_SPEC, "spec.prompt is empty", **KW)
    assert cond(s, "Scheduled") == ("False", "InvalidSpec")
    assert cond(s, "Succeeded") == ("False", "InvalidSpec")


def test_transition_time_moves_only_when_status_changes() -> None:
    s = t.waiting(AgentTaskStatus(), "PoolExhausted", "x", **KW)
    s2 = t.waiting(s, "WaitingForWorker", "y", **LATER)
    found = c.find(s2.conditions, "Scheduled")
    assert found is not None and found.last_transition_time == KW["now"]


@pytest.mark.parametrize(
    ("kwargs", "state", "source"),
    [
        (
            {"session_exists": False, "window_name": None, "pane_dead": False},
            "agent:error",
            "session",
        ),
        (
            {"session_exists": True, "window_name": "agent:running", "pane_dead": True},
            "agent:error",
            "pane",
        ),
        (
            {"session_exists": True, "window_name": "agent:running", "pane_dead": False},
            "agent:running",
            "window",
        ),
        ({"session_exists": True, "window_name": "agent", "pane_dead": False}, None, "window"),
    ],
)
def test_ground_truth_beats_the_window_name(kwargs, state, source) -> None:
    reading = readings.read(**kwargs)
    assert (reading.state, reading.source) == (state, source)


def test_an_agent_that_completed_then_exited_still_completed() -> None:
    reading = readings.read(
        session_exists=True,
        window_name="agent:error",
        pane_dead=True,
        hook_state="ended",
        prior_state="completed",
    )
    assert (reading.state, reading.source) == ("agent:completed", "hook")
    assert readings.agent_gone(reading)
    s = t.observed(delivered(), reading, **LATER)
    assert cond(s, "Succeeded") == ("True", "AgentCompleted")


def test_a_dead_pane_without_completion_is_an_error_with_its_exit_code() -> None:
    reading = readings.read(
        session_exists=True,
        window_name="agent:running",
        pane_dead=True,
        pane_dead_status=137,
        hook_state="running",
    )
    assert (reading.state, reading.error) == ("agent:error", "AgentExited")
    assert "status 137" in reading.detail and readings.agent_gone(reading)


def test_saved_work_names_branch_and_commit() -> None:
    s = t.saved(delivered(), "wip/kite-x", "c0ffee", **LATER)
    assert (s.work_branch, s.work_commit, s.last_snapshot_time) == (
        "wip/kite-x",
        "c0ffee",
        LATER["now"],
    )


def test_requeued_only_before_delivery() -> None:
    bound = t.scheduled(AgentTaskStatus(), "kite-1", **KW)
    s = t.requeued(bound, "worker kite-1 lost", **LATER)
    assert cond(s, "Scheduled") == ("False", "Requeued") and s.worker_name is None
    assert t.scheduled(s, "kite-2", **LATER).attempts == 2
    assert t.requeued(delivered(), "lost", **LATER) == delivered()


def test_a_killed_agent_ends_agent_exited_and_an_api_error_agent_error() -> None:
    killed = readings.read(
        session_exists=True, window_name="agent:running", pane_dead=True, pane_dead_status=137
    )
    assert cond(t.observed(delivered(), killed, **LATER), "Succeeded") == ("False", "AgentExited")
    api = readings.read(
        session_exists=True, window_name="agent:error", pane_dead=False, error="rate_limit"
    )
    assert cond(t.observed(delivered(), api, **LATER), "Succeeded") == ("False", "AgentError")


def test_the_session_of_a_delivery_is_recorded() -> None:
    s = t.delivered(t.initial(AgentTaskStatus(), **KW), "kite-1", "ab" * 32, "0-1-2", **KW)
    assert s.session_id == "0-1-2"


def test_admission_keeps_the_first_queue_time() -> None:
    first = t.admitted(AgentTaskStatus(), "2026-01-01T00:00:07.000001Z", **KW)
    again = t.admitted(first, "2026-01-01T00:00:09.000000Z", **KW)
    assert again.queued_time == "2026-01-01T00:00:07.000001Z"
    assert {x.type for x in again.conditions} >= {"Scheduled", "Succeeded"}
