from __future__ import annotations

from sprite_orchestrator.core import deadlines as d


def test_expired_and_remaining() -> None:
    assert not d.expired(None, 10, now=100) and not d.expired(100, None, now=1000)
    assert not d.expired(100, 10, now=109.9) and d.expired(100, 10, now=110)
    assert d.remaining(100, 10, now=104) == 6 and d.remaining(100, 10, now=200) == 0
    assert d.remaining(None, 10, now=0) is None


def test_snapshot_every_interval_from_the_start_then_from_the_last() -> None:
    assert not d.snapshot_due(None, 0, 1800, now=1799)
    assert d.snapshot_due(None, 0, 1800, now=1800)
    assert not d.snapshot_due(1800, 0, 1800, now=3000)
    assert not d.snapshot_due(None, None, 1800, now=10**9)


def test_soonest() -> None:
    assert d.soonest(None, 3.0, 7.0, default=5.0) == 3.0
    assert d.soonest(None, default=5.0) == 5.0
