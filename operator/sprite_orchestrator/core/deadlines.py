"""When things are due: task timeouts, TTLs after finishing, snapshots while busy.

Pure: every function takes `now` (wall seconds) and the stored timestamps as seconds.
"""

from __future__ import annotations


def expired(since: float | None, seconds: int | None, *, now: float) -> bool:
    """`seconds` have passed since `since` (never, if either is unknown)."""
    return since is not None and seconds is not None and now >= since + seconds


def remaining(since: float | None, seconds: int | None, *, now: float) -> float | None:
    """Seconds until `since + seconds`, at least 0; None if there is no such deadline."""
    if since is None or seconds is None:
        return None
    return max(0.0, since + seconds - now)


def snapshot_due(last: float | None, started: float | None, interval: int, *, now: float) -> bool:
    """The 30-minute rule: `interval` seconds after the last snapshot (or the start)."""
    return expired(last if last is not None else started, interval, now=now)


def soonest(*delays: float | None, default: float) -> float:
    """The nearest of several optional delays, or `default` if none is sooner."""
    known = [d for d in delays if d is not None]
    return min([default, *known])
