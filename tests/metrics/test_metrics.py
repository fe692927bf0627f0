"""The metric functions, asserted through the text exposition a scraper reads."""

from __future__ import annotations

import pytest

from sprite_orchestrator import __version__, metrics
from sprite_orchestrator.metrics import Metrics
from tests.metrics.samples import scrape, series, value

NS, POOL = "default", "kite"
AT = {"namespace": NS, "pool": POOL}


def observe(m: Metrics, **overrides) -> None:
    snapshot = {
        "provider": "Local",
        "max_workers": 3,
        "workers": ["idle", "busy", "busy"],
        "agents": ["agent:waiting", "agent:running", "agent:error"],
        "tasks": [
            {
                "Scheduled": "True",
                "Delivered": "True",
                "NeedsInput": "True",
                "Succeeded": "Unknown",
            },
            {"Scheduled": "False", "Delivered": "False", "Succeeded": "Unknown"},
        ],
        "queue_depth": 1,
        **overrides,
    }
    m.observe_pool(NS, POOL, **snapshot)


def test_a_pool_snapshot_becomes_gauges_with_every_state_reported() -> None:
    m = Metrics()
    observe(m)

    s = scrape(m)

    assert series(s, "orchestrator_workers") == {
        frozenset({**AT, "state": "idle"}.items()): 1,
        frozenset({**AT, "state": "busy"}.items()): 2,
        frozenset({**AT, "state": "provisioning"}.items()): 0,
        frozenset({**AT, "state": "failed"}.items()): 0,
    }
    assert value(s, "orchestrator_agent_state", **AT, state="agent:error") == 1
    assert value(s, "orchestrator_agent_state", **AT, state="agent:completed") == 0
    assert value(s, "orchestrator_tasks", **AT, condition="NeedsInput", status="True") == 1
    assert value(s, "orchestrator_tasks", **AT, condition="Succeeded", status="Unknown") == 2
    assert value(s, "orchestrator_tasks", **AT, condition="Scheduled", status="False") == 1
    assert value(s, "orchestrator_task_queue_depth", **AT) == 1
    assert value(s, "orchestrator_pool_max_workers", **AT) == 3
    assert value(s, "orchestrator_pool_info", **AT, provider="Local") == 1


def test_the_next_pass_replaces_the_snapshot_and_a_count_that_drops_is_zero() -> None:
    m = Metrics()
    observe(m)
    observe(m, agents=["agent:waiting"], queue_depth=0)

    s = scrape(m)

    assert value(s, "orchestrator_agent_state", **AT, state="agent:error") == 0
    assert value(s, "orchestrator_agent_state", **AT, state="agent:waiting") == 1
    assert value(s, "orchestrator_task_queue_depth", **AT) == 0


def test_states_outside_the_protocol_are_counted_as_unknown() -> None:
    m = Metrics()
    observe(m, workers=["idle", "exploded"], agents=[None, "agent:dancing"])

    s = scrape(m)

    assert value(s, "orchestrator_agent_state", **AT, state="unknown") == 2
    assert sum(series(s, "orchestrator_workers").values()) == 1  # no series for "exploded"
    assert {dict(k)["state"] for k in series(s, "orchestrator_agent_state")} == set(
        metrics.AGENT_STATES
    )


def test_pools_of_two_namespaces_with_one_name_are_kept_apart() -> None:
    m = Metrics()
    observe(m)
    m.observe_pool(
        "team-b",
        POOL,
        provider="SSH",
        max_workers=1,
        workers=[],
        agents=[],
        tasks=[],
        queue_depth=7,
    )

    s = scrape(m)

    assert value(s, "orchestrator_task_queue_depth", **AT) == 1
    assert value(s, "orchestrator_task_queue_depth", namespace="team-b", pool=POOL) == 7


def test_a_forgotten_pool_has_no_gauges_but_keeps_its_counters() -> None:
    m = Metrics()
    observe(m)
    m.task_finished(NS, POOL, result="succeeded", reason="AgentCompleted")
    m.forget_pool(NS, POOL)

    s = scrape(m)

    assert series(s, "orchestrator_workers") == {}
    assert series(s, "orchestrator_tasks_finished_total") != {}


def test_a_snapshot_older_than_valid_for_is_not_reported() -> None:
    now = [100.0]
    m = Metrics(clock=lambda: now[0])
    observe(m, valid_for=30.0)

    now[0] = 130.0
    fresh = scrape(m)
    now[0] = 130.5
    stale = scrape(m)

    assert value(fresh, "orchestrator_task_queue_depth", **AT) == 1
    assert value(stale, "orchestrator_task_queue_depth", **AT) is None


def test_finished_tasks_are_counted_by_result_and_reason() -> None:
    m = Metrics()
    m.task_finished(NS, POOL, result="succeeded", reason="AgentCompleted")
    m.task_finished(NS, POOL, result="failed", reason="AgentError")
    m.task_finished(NS, POOL, result="failed", reason="AgentError")

    s = scrape(m)

    name = "orchestrator_tasks_finished_total"
    assert value(s, name, **AT, result="failed", reason="AgentError") == 2
    assert value(s, name, **AT, result="succeeded", reason="AgentCompleted") == 1


@pytest.mark.parametrize(
    ("reason", "label"),
    [
        ("WorkerLost", "WorkerLost"),
        ("fix the authentication bug", "Other"),  # a prompt must never become a label
        ("kite-nq4t2", "Other"),  # nor a task name
        ("", "Other"),
        ("A" * 65, "Other"),
    ],
)
def test_reasons_are_a_bounded_set(reason: str, label: str) -> None:
    m = Metrics()
    m.task_finished(NS, POOL, result="failed", reason=reason)
    m.poll_error(NS, POOL, reason)

    s = scrape(m)

    assert value(s, "orchestrator_tasks_finished_total", **AT, result="failed", reason=label) == 1
    assert value(s, "orchestrator_poll_errors_total", **AT, reason=label) == 1


def test_durations_are_histograms_in_seconds() -> None:
    m = Metrics()
    m.dispatched(NS, POOL, 0.2)
    m.dispatched(NS, POOL, 40.0)
    m.provisioned(NS, POOL, 12.0)
    m.provisioned(NS, POOL, 3.0, result="failed")
    m.polled(NS, POOL, 0.004)

    s = scrape(m)

    assert value(s, "orchestrator_dispatch_seconds_count", **AT) == 2
    assert value(s, "orchestrator_dispatch_seconds_sum", **AT) == pytest.approx(40.2)
    assert value(s, "orchestrator_dispatch_seconds_bucket", **AT, le="0.25") == 1
    assert value(s, "orchestrator_dispatch_seconds_bucket", **AT, le="60.0") == 2
    assert value(s, "orchestrator_provision_seconds_count", **AT, result="succeeded") == 1
    assert value(s, "orchestrator_provision_seconds_count", **AT, result="failed") == 1
    assert value(s, "orchestrator_poll_seconds_bucket", **AT, le="0.005") == 1


def test_poll_errors_and_cost_are_counters() -> None:
    m = Metrics()
    m.poll_error(NS, POOL, "SessionGone")
    m.task_cost(NS, POOL, 0.25)
    m.task_cost(NS, POOL, 1.5)
    m.task_cost(NS, POOL, 0.0)  # unknown cost adds nothing

    s = scrape(m)

    assert value(s, "orchestrator_poll_errors_total", **AT, reason="SessionGone") == 1
    assert value(s, "orchestrator_task_cost_usd_total", **AT) == pytest.approx(1.75)


def test_up_and_build_info_are_always_there() -> None:
    s = scrape(Metrics())

    assert value(s, "orchestrator_up") == 1
    (labels,) = series(s, "orchestrator_build_info")
    assert dict(labels)["version"] == __version__


def test_each_operator_has_its_own_registry() -> None:
    one, two = Metrics(), Metrics()
    one.task_finished(NS, POOL, result="succeeded", reason="AgentCompleted")
    observe(one)

    s = scrape(two)

    assert series(s, "orchestrator_tasks_finished_total") == {}
    assert series(s, "orchestrator_workers") == {}


def test_no_label_outside_the_bounded_set_is_ever_exported() -> None:
    m = Metrics()
    observe(m)
    m.task_finished(NS, POOL, result="weird", reason="AgentError")
    m.dispatched(NS, POOL, 1.0)
    m.provisioned(NS, POOL, 1.0, result="weird")
    m.polled(NS, POOL, 1.0)
    m.poll_error(NS, POOL, "Timeout")
    m.task_cost(NS, POOL, 1.0)
    allowed = {"namespace", "pool", "provider", "state", "condition", "status", "result"}
    allowed |= {"reason", "le", "version", "python"}

    names = {name for (_, labels) in scrape(m) for name, _ in labels}

    assert names <= allowed


@pytest.mark.parametrize(
    ("bound", "failed", "ready", "state"),
    [
        (True, False, False, "busy"),
        (True, True, False, "busy"),
        (False, True, False, "failed"),
        (False, False, True, "idle"),
        (False, False, False, "provisioning"),
    ],
)
def test_worker_state(bound: bool, failed: bool, ready: bool, state: str) -> None:
    assert metrics.worker_state(bound=bound, failed=failed, ready=ready) == state


def test_the_series_alerts_count_start_at_zero_when_a_pool_is_first_seen() -> None:
    m = Metrics()
    observe(m)

    s = scrape(m)

    name = "orchestrator_tasks_finished_total"
    assert value(s, name, **AT, result="failed", reason="AgentError") == 0
    assert value(s, "orchestrator_provision_seconds_count", **AT, result="failed") == 0
    assert value(s, "orchestrator_provision_seconds_count", **AT, result="succeeded") == 0
    assert value(s, "orchestrator_dispatch_seconds_count", **AT) == 0
    assert value(s, "orchestrator_poll_seconds_count", **AT) == 0
