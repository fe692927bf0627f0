from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sprite_orchestrator.core import allocation as al

W = al.WorkerView
T = al.TaskView


def ready(name: str, idle_since: float | None = 0.0) -> al.WorkerView:
    return W(name, provisioned=True, idle_since=idle_since)


def test_oldest_pending_task_gets_the_lowest_idle_worker() -> None:
    plan = al.plan(
        "kite",
        al.Scaling(min_idle=0, max_workers=5),
        [ready("kite-2"), ready("kite-1")],
        [T("b", "2026-01-01T00:00:02Z"), T("a", "2026-01-01T00:00:01Z")],
        now=0,
    )
    assert plan.binds == (("a", "kite-1"), ("b", "kite-2"))
    assert plan.create == () and plan.waiting == {}


def test_no_idle_worker_creates_the_next_one() -> None:
    plan = al.plan(
        "kite",
        al.Scaling(min_idle=0, max_workers=5),
        [W("kite-1", provisioned=True, task="x")],
        [T("a", "1")],
        now=0,
    )
    assert plan.create == ("kite-2",)
    assert plan.waiting["a"].reason == al.WAITING_FOR_WORKER


def test_at_max_workers_the_task_waits_pool_exhausted_with_its_position() -> None:
    """The message says why, not where: a position in it would rewrite every queued task's
    status on every bind. The position is in the plan, and `positions` computes it."""
    plan = al.plan(
        "kite",
        al.Scaling(min_idle=0, max_workers=1),
        [W("kite-1", provisioned=True, task="x")],
        [T("a", "1"), T("b", "2")],
        now=0,
    )
    assert plan.create == () and plan.binds == ()
    assert plan.waiting["a"] == al.Wait(
        al.POOL_EXHAUSTED,
        "all 1 workers of pool kite are busy (maxWorkers); it waits its turn (priority, then"
        " oldest first)",
        1,
    )
    assert plan.waiting["b"].position == 2
    assert plan.waiting["a"].message == plan.waiting["b"].message  # the same whatever the place
    assert al.positions([T("b", "2"), T("a", "1")]) == {"a": (1, 2), "b": (2, 2)}


def test_three_tasks_and_max_two_create_two_workers_only() -> None:
    tasks = [T("a", "1"), T("b", "2"), T("c", "3")]
    plan = al.plan("demo", al.Scaling(min_idle=0, max_workers=2), [], tasks, now=0)
    assert plan.create == ("demo-1", "demo-2")
    assert [plan.waiting[t].reason for t in "abc"] == [
        al.WAITING_FOR_WORKER,
        al.WAITING_FOR_WORKER,
        al.POOL_EXHAUSTED,
    ]


def test_a_provisioning_worker_serves_the_next_task_instead_of_a_new_one() -> None:
    plan = al.plan(
        "kite", al.Scaling(min_idle=0, max_workers=5), [W("kite-1")], [T("a", "1")], now=0
    )
    assert plan.create == ()
    assert plan.waiting["a"].reason == al.WAITING_FOR_WORKER


def test_min_idle_is_kept_warm() -> None:
    plan = al.plan("kite", al.Scaling(min_idle=2, max_workers=5), [], [], now=0)
    assert plan.create == ("kite-1", "kite-2")
    plan = al.plan(
        "kite", al.Scaling(min_idle=2, max_workers=5), [ready("kite-1"), W("kite-2")], [], now=0
    )
    assert plan.create == ()


def test_min_idle_counts_after_binding() -> None:
    plan = al.plan(
        "kite", al.Scaling(min_idle=1, max_workers=5), [ready("kite-1")], [T("a", "1")], now=0
    )
    assert plan.binds == (("a", "kite-1"),)
    assert plan.create == ("kite-2",)


def test_idle_workers_past_the_timeout_are_reaped_down_to_min_idle() -> None:
    workers = [ready("kite-1", 0.0), ready("kite-2", 50.0), ready("kite-3", 10.0)]
    plan = al.plan("kite", al.Scaling(min_idle=1, idle_timeout_seconds=60), workers, [], now=200)
    assert plan.delete == ("kite-1", "kite-3")


def test_busy_failed_deleting_and_fresh_workers_are_never_reaped() -> None:
    workers = [
        W("kite-1", provisioned=True, task="a", idle_since=0.0),
        W("kite-2", provisioned=True, failed=True, idle_since=0.0),
        W("kite-3", provisioned=True, deleting=True, idle_since=0.0),
        ready("kite-4", 190.0),
        ready("kite-5", None),
    ]
    plan = al.plan("kite", al.Scaling(min_idle=0, idle_timeout_seconds=60), workers, [], now=200)
    assert plan.delete == ()


def test_nothing_is_reaped_while_tasks_wait() -> None:
    workers = [W("kite-1", provisioned=True, task="x"), ready("kite-2", 0.0)]
    plan = al.plan(
        "kite",
        al.Scaling(min_idle=0, max_workers=2, idle_timeout_seconds=1),
        workers,
        [T("a", "1"), T("b", "2")],
        now=100,
    )
    assert plan.binds == (("a", "kite-2"),)
    assert plan.delete == ()


def test_priority_goes_first_then_age() -> None:
    order = al.queue([T("a", "1"), T("b", "2", priority=5), T("c", "0")])
    assert [t.name for t in order] == ["b", "c", "a"]


workers_st = st.lists(
    st.builds(
        W,
        name=st.sampled_from([f"kite-{i}" for i in range(1, 9)]),
        provisioned=st.booleans(),
        failed=st.booleans(),
        task=st.one_of(st.none(), st.sampled_from(["x", "y", "z"])),
        deleting=st.booleans(),
        idle_since=st.one_of(st.none(), st.floats(min_value=0, max_value=1000)),
    ),
    unique_by=lambda w: w.name,
    max_size=8,
)
tasks_st = st.lists(
    st.builds(
        T,
        name=st.text("abcdef", min_size=1, max_size=3),
        created=st.text("0123456789", min_size=1, max_size=2),
    ),
    unique_by=lambda t: t.name,
    max_size=8,
)


@given(workers_st, tasks_st, st.integers(0, 4), st.integers(1, 8), st.floats(0, 2000))
def test_plan_invariants(workers, tasks, min_idle, max_workers, now) -> None:
    scaling = al.Scaling(min_idle=min_idle, max_workers=max_workers, idle_timeout_seconds=100)
    plan = al.plan("kite", scaling, workers, tasks, now=now)
    by_name = {w.name: w for w in workers}
    bound_workers = [w for _, w in plan.binds]
    # every bind takes a distinct idle, ready worker and a distinct pending task
    assert len(set(bound_workers)) == len(bound_workers)
    assert all(by_name[w].ready for w in bound_workers)
    assert len({t for t, _ in plan.binds}) == len(plan.binds)
    # never above maxWorkers, never a name that exists
    assert len(workers) + len(plan.create) <= max(max_workers, len(workers))
    assert not set(plan.create) & set(by_name)
    # never delete a busy, bound-now or already deleting worker
    assert all(by_name[w].task is None and not by_name[w].deleting for w in plan.delete)
    assert not set(plan.delete) & set(bound_workers)
    # below maxWorkers, idle workers are reaped only down to minIdle
    alive = [w for w in workers if not w.deleting]
    idle_after = [w for w in workers if w.ready and w.name not in bound_workers]
    if len(alive) <= max_workers:
        assert all(by_name[w].ready for w in plan.delete)
        assert len(idle_after) - len(plan.delete) >= min(min_idle, len(idle_after))
    else:  # above it (maxWorkers lowered), spare workers go until the count fits
        spare = [
            w
            for w in alive
            if w.task is None and (w.ready or not w.provisioned) and w.name not in bound_workers
        ]
        assert len(plan.delete) >= min(len(alive) - max_workers, len(spare))
    # every task is either bound or waiting with a reason, positions 1..n
    assert {t for t, _ in plan.binds} | set(plan.waiting) == {t.name for t in tasks}
    assert sorted(w.position for w in plan.waiting.values()) == list(
        range(1, len(plan.waiting) + 1)
    )


def test_lowering_max_workers_removes_idle_workers_from_the_top() -> None:
    workers = [
        ready("kite-1"),
        W("kite-2", provisioned=True, task="a"),
        ready("kite-3"),
        ready("kite-4"),
    ]
    plan = al.plan("kite", al.Scaling(min_idle=1, max_workers=2), workers, [], now=0)
    assert plan.delete == ("kite-4", "kite-3")


def test_failing_workers_stop_the_pool_from_creating_more() -> None:
    plan = al.plan(
        "kite",
        al.Scaling(min_idle=0, max_workers=5),
        [W("kite-1", failed=True)],
        [T("a", "1")],
        now=0,
    )
    assert plan.create == ()
    assert plan.waiting["a"].reason == al.WORKERS_FAILING


@given(
    st.lists(
        st.tuples(st.text("abcdefghij", min_size=1, max_size=5), st.integers(0, 999_999)),
        min_size=2,
        max_size=8,
        unique_by=(lambda t: t[0], lambda t: t[1]),
    )
)
def test_tasks_created_in_the_same_second_are_served_as_they_were_admitted(
    tasks: list[tuple[str, int]],
) -> None:
    """creationTimestamp has whole seconds and names are random: admission time decides."""
    second = "2026-01-01T00:00:07Z"
    views = [T(name, second, queued=f"2026-01-01T00:00:07.{us:06d}Z") for name, us in tasks]

    served = [t.name for t in al.queue(views)]

    assert served == [name for name, _ in sorted(tasks, key=lambda t: t[1])]


def test_an_older_second_goes_first_whatever_the_admission_time() -> None:
    late = T("a", "2026-01-01T00:00:08Z", queued="2026-01-01T00:00:08.000001Z")
    early = T("z", "2026-01-01T00:00:07Z", queued="2026-01-01T00:00:08.000002Z")
    assert [t.name for t in al.queue([late, early])] == ["z", "a"]
