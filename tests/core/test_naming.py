from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sprite_orchestrator.core import naming


def test_names_follow_the_seed() -> None:
    assert naming.worker_name("kite", 1) == "kite-1"
    assert naming.session_name("kite") == "kite-dev"
    assert naming.repo_dir("kite") == "kite"


def test_index_of_own_names_only() -> None:
    assert naming.worker_index("kite", "kite-12") == 12
    assert naming.worker_index("kite", "kite-0") is None
    assert naming.worker_index("kite", "kite-01") is None
    assert naming.worker_index("kite", "kiteboard-1") is None
    assert naming.worker_index("kite-board", "kite-board-3") == 3
    assert naming.worker_index("kite", "kite-board-3") is None


def test_smallest_free_index_first() -> None:
    assert naming.next_worker_names("kite", [], 2) == ["kite-1", "kite-2"]
    assert naming.next_worker_names("kite", ["kite-1", "kite-3"], 2) == ["kite-2", "kite-4"]
    assert naming.next_worker_names("kite", ["other-1"], 1) == ["kite-1"]
    assert naming.next_worker_names("kite", ["kite-1"], 0) == []


@given(st.sets(st.integers(min_value=1, max_value=40)), st.integers(min_value=0, max_value=10))
def test_new_names_are_fresh_distinct_and_smallest(taken: set[int], count: int) -> None:
    names = naming.next_worker_names("kite", [f"kite-{i}" for i in taken], count)
    indexes = [naming.worker_index("kite", n) for n in names]
    assert len(set(names)) == count
    assert not set(indexes) & taken
    free = [i for i in range(1, 60) if i not in taken][:count]
    assert indexes == free


def test_delivery_marker_is_per_task_incarnation() -> None:
    a = naming.delivery_marker("kite-x1", "0f0e-AB")
    b = naming.delivery_marker("kite-x1", "11aa")
    assert a != b and a == "kite-x1.0f0e-ab"
