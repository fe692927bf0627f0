"""A draining pool in the planner, and queue positions as readers compute them."""

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
    assert (
        plan.waiting["t2"].message
        == "pool kite is draining (orchestrator drain kite --undo resumes it)"
    )


def test_positions_are_the_plans_order_priority_first() -> None:
    workers = [a.WorkerView("kite-1", provisioned=True, task="t0")]
    pending = [a.TaskView(f"t{i}", f"2026-01-01T00:00:0{i}Z") for i in range(1, 4)]
    pending.append(a.TaskView("urgent", "2026-01-01T00:00:09Z", priority=5))

    plan = a.plan("kite", a.Scaling(min_idle=0, max_workers=1), workers, pending, now=0.0)
    places = a.positions(pending)

    assert places == {"urgent": (1, 4), "t1": (2, 4), "t2": (3, 4), "t3": (4, 4)}
    assert {t: w.position for t, w in plan.waiting.items()} == {
        t: p for t, (p, _) in places.items()
    }
    assert len({w.message for w in plan.waiting.values()}) == 1  # no place in any message
