"""A draining pool in the planner, and the queue position read back from a task's message."""

from __future__ import annotations

from sprite_orchestrator.core import allocation as a


def test_a_draining_pool_binds_and_creates_nothing_and_keeps_only_busy_workers() -> None:
    workers = [
        a.WorkerView("kite-1", provisioned=True, task="t0"),
        a.WorkerView("kite-2", provisioned=True),
        a.WorkerView("kite-3"),  # still provisioning
        a.WorkerView("kite-4", deleting=True),
    ]
    pending = [a.TaskView("t2", "2026-01-01T00:00:02Z"), a.TaskView("t1", "2026-01-01T00:00:01Z")]

    plan = a.plan("kite", a.Scaling(min_idle=2), workers, pending, now=0.0, draining=True)

    assert plan.binds == () and plan.create == ()
    assert plan.delete == ("kite-2", "kite-3")
    assert {t: (w.reason, w.position) for t, w in plan.waiting.items()} == {
        "t1": (a.POOL_DRAINING, 1),
        "t2": (a.POOL_DRAINING, 2),
    }
    assert a.position(plan.waiting["t2"].message) == (2, 2)


def test_the_position_is_read_from_every_waiting_message() -> None:
    workers = [a.WorkerView("kite-1", provisioned=True, task="t0")]
    pending = [a.TaskView(f"t{i}", f"2026-01-01T00:00:0{i}Z") for i in range(1, 4)]

    plan = a.plan("kite", a.Scaling(min_idle=0, max_workers=1), workers, pending, now=0.0)

    assert [a.position(plan.waiting[f"t{i}"].message) for i in (1, 2, 3)] == [
        (1, 3),
        (2, 3),
        (3, 3),
    ]
    assert a.position("bound to worker kite-1") is None
