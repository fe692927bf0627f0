"""Names the seed made into habits: `kite-1`, `kite-2`, …, session `kite-dev`, repo at `~/kite`."""

from __future__ import annotations

import re
from collections.abc import Iterable


def worker_name(pool: str, index: int) -> str:
    """The name of the worker with this index: `<pool>-<N>`."""
    return f"{pool}-{index}"


def worker_index(pool: str, name: str) -> int | None:
    """The N of `<pool>-<N>`, or None for a name that is not one of this pool's."""
    match = re.fullmatch(re.escape(pool) + r"-([1-9][0-9]*)", name)
    return int(match.group(1)) if match else None


def free_indexes(pool: str, taken: Iterable[str]) -> Iterable[int]:
    """Free indexes, smallest first, as the seed's allocate-sprite.sh picks them."""
    used = {i for name in taken if (i := worker_index(pool, name)) is not None}
    index = 1
    while True:
        if index not in used:
            yield index
        index += 1


def next_worker_names(pool: str, taken: Iterable[str], count: int) -> list[str]:
    """The next `count` worker names with the smallest free indexes."""
    names: list[str] = []
    for index in free_indexes(pool, taken):
        if len(names) >= count:
            break
        names.append(worker_name(pool, index))
    return names


def session_name(pool: str) -> str:
    """The tmux session on every worker of the pool: `<repo>-dev`."""
    return f"{pool}-dev"


def repo_dir(pool: str) -> str:
    """Where the repo is cloned on the worker, relative to HOME: `~/<repo>`."""
    return pool


def delivery_marker(task_name: str, task_uid: str) -> str:
    """The per-task marker on the worker that makes delivery exactly-once.

    The uid makes a re-created task with the same name a different delivery.
    """
    return f"{task_name}.{task_uid}".lower()
