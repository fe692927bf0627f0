"""The benchmarks stay runnable: each module imports, the double speaks our scripts' language,
and the smallest sizes run end to end (figures are printed by `make bench`, never asserted)."""

from __future__ import annotations

import pathlib

import pytest
from bench.double import DoubleProvider

from bench import __main__ as bench_main
from bench import dispatch_latency, dispatch_latency_sprites, harness, scale, summary
from sprite_orchestrator.worker import delivery, polling, provisioning, snapshot


def test_every_benchmark_is_reachable_by_name() -> None:
    assert set(bench_main.BENCHMARKS) == {
        "dispatch_latency",
        "dispatch_latency_ssh",
        "dispatch_latency_sprites",
        "throughput",
        "freshness",
        "seed",
        "scale",
        "plot",
        "summary",
    }
    assert bench_main.main(["no-such-benchmark"]) == 2


def test_stats_give_median_and_p99() -> None:
    found = harness.stats([0.001 * i for i in range(1, 101)])
    assert (found["n"], found["median"], found["p99"], found["max"]) == (100, 50.5, 99.0, 100.0)


async def test_the_double_answers_like_a_provisioned_idle_worker() -> None:
    double = DoubleProvider("ns/pool-smoke")
    await double.create("w-1")
    plan = provisioning.ProvisionPlan(
        repo_url="/nowhere/repo", repo_dir="repo", session="repo-dev", agent_command=["x"]
    )
    await provisioning.provision(double, "w-1", plan)
    seen = await polling.poll(double, "w-1", session="repo-dev")
    assert (seen.session, seen.agent_window, seen.agent_alive) == (True, "agent:waiting", True)

    done = await delivery.deliver(double, "w-1", session="repo-dev", marker="t-1", prompt="hi")
    again = await delivery.deliver(double, "w-1", session="repo-dev", marker="t-1", prompt="hi")
    assert (done.pasted, again.pasted, again.confirmed) == (True, False, True)
    assert (await polling.poll(double, "w-1", session="repo-dev")).agent_window == "agent:running"

    saved = await snapshot.save(
        double, "w-1", repo_dir="repo", branch="wip/t-1", reset_to=None, reset=True
    )
    assert saved.reset
    await delivery.restart_agent(double, "w-1", session="repo-dev")
    assert (await polling.poll(double, "w-1", session="repo-dev")).agent_window == "agent:waiting"
    assert [m.name for m in await double.list()] == ["w-1"]
    await double.destroy("w-1")


async def test_scale_runs_with_two_workers() -> None:
    found = await scale.measure([2], cycles=0)
    (point,) = found["points"]
    assert (point["workers"], point["tasks"]) == (2, 20)
    assert point["operator_rss_mb"] > 0


async def test_dispatch_latency_runs_once(tmp_path: pathlib.Path) -> None:
    found = await dispatch_latency.measure(1)
    assert found["latency_ms"]["n"] == 1


async def test_dispatch_latency_on_sprites_runs_once_and_has_its_row() -> None:
    found = await dispatch_latency_sprites.measure(1)
    assert found["latency_ms"]["n"] == 1

    harness.report("dispatch_latency_sprites", found)
    [row] = [r for r in summary.rows() if "Sprites" in r[0]]
    assert row[1] == f"{found['latency_ms']['median']:g} / {found['latency_ms']['p99']:g} ms"


@pytest.fixture(autouse=True)
def _no_results_written(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    monkeypatch.setattr(harness, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(summary, "RESULTS", tmp_path / "results")  # read from there too
