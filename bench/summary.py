"""The table of figures in bench/README.md, rewritten from bench/results/*.json.

`make bench` ends with it, so the README always shows the latest run (and its machine).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from bench.harness import RESULTS

README = RESULTS.parent / "README.md"
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _ms(s: dict[str, Any] | None) -> str:
    if not s or not s.get("n"):
        return "—"
    return f"{s['median']:g} / {s['p99']:g} ms"


def rows() -> list[tuple[str, str, str]]:
    """(figure, median / p99, target or note)."""
    out: list[tuple[str, str, str]] = []
    if found := _load("dispatch_latency"):
        out.append(
            (
                "Dispatch latency, warm Local worker",
                _ms(found.get("latency_ms")),
                "p50 ≤ 300 ms, p99 ≤ 1 s",
            )
        )
    if found := _load("dispatch_latency_ssh"):
        out.append(("Dispatch latency, warm SSH worker", _ms(found.get("latency_ms")), "same"))
    if found := _load("dispatch_latency_sprites"):
        out.append(
            (
                "Dispatch latency, warm Sprites worker (fake API on 127.0.0.1)",
                _ms(found.get("latency_ms")),
                "same; Fly.io's network and wake-up not included",
            )
        )
    if found := _load("throughput"):
        rate = found["tasks_per_s"]
        out.append((
            f"Throughput, {found['tasks']} tasks onto {found['workers']} warm workers",
            f"{rate['median']:g} / {rate['min']:g} (min) tasks/s",
            f"per task {_ms(found['task_latency_ms'])}" + _busy(found),
        ))  # fmt: skip
    if found := _load("freshness"):
        for key, got in found["intervals"].items():
            cost = got["cost"]
            out.append((
                f"Status freshness, poll interval {key}",
                _ms(got["freshness_ms"]),
                f"p99 ≤ {got['target_p99_ms'] / 1000:g} s; {cost['execs_per_s']:g} execs/s for"
                f" {cost['workers']} workers, operator CPU {cost['operator_cpu_pct_per_worker']:g}%"
                f" per worker ({cost['operator_cpu_ms_per_poll']:g} ms per poll)",
            ))  # fmt: skip
        out.append(
            ("Hook-to-status, demo agent, interval 1 s", _ms(found["hook_to_status_ms"]), "")
        )
        claude = found.get("hook_to_status_claude_ms") or {}
        out.append(
            ("Hook-to-status, Claude Code, interval 1 s", _ms(claude), claude.get("skipped", ""))
        )
    if found := _load("seed"):
        for side in ("ssh", "local"):
            points = found.get(side)
            if not isinstance(points, list):
                out.append((f"Seed vs ours, {side}", "skipped", str((points or {}).get("skipped"))))
                continue
            for p in points:
                out.append((
                    f"Seed vs ours, {side}, {p['workers']} workers ({p['busy']} busy)",
                    f"seed {_ms(p['seed_ms'])}; ours {_ms(p['ours_api_ms'])} (API),"
                    f" {_ms(p['ours_cli_ms'])} (CLI)",
                    f"seed/ours {p['ratio_seed_over_api']:g}× (API),"
                    f" {p['ratio_seed_over_cli']:g}× (CLI)",
                ))  # fmt: skip
        out.append(("`orchestrator version` (CLI start)", _ms(found.get("cli_start_ms")), ""))
    if found := _load("scale"):
        for p in found["points"]:
            out.append((
                f"Scale, {p['workers']} workers / {p['tasks']} tasks (double)",
                f"RSS {p['operator_rss_mb']:g} MB, {p['operator_cpu_s_per_poll_cycle']:g} CPU-s"
                f" per {found['poll_interval_s']} s poll cycle",
                f"RSS ≤ 300 MB; polls {p['polls_per_s']:g}/s of {p['polls_expected_per_s']:g};"
                f" API requests {sum((p.get('api_requests_per_s') or {}).values()):.0f}/s;"
                f" emulator {p['api_cpu_pct']:g}% CPU, {p['api_rss_mb']:g} MB",
            ))  # fmt: skip
    return out


def _busy(found: dict[str, Any]) -> str:
    """Where a throughput run's CPU went, when the run says."""
    if "machine_busy_pct" not in found:
        return ""
    return (
        f"; machine {found['machine_busy_pct']}% busy over {found['wall_s']:g} s: operator"
        f" {found['operator_cpu_s']:g} CPU-s, its execs {found['operator_children_cpu_s']:g},"
        f" emulator {found['api_cpu_s']:g}"
    )


def table() -> str:
    lines = ["| Figure | Median / p99 | Target, notes |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows()]
    machine = next(
        (f["machine"] for n in ("dispatch_latency", "scale", "seed") if (f := _load(n))), None
    )
    if machine:
        lines += [
            "",
            f"Machine: {machine['nproc']} CPUs ({machine['cpu']}), Python {machine['python']},"
            f" {machine['tmux']}, Linux {machine['kernel']}; load average at start"
            f" {machine['loadavg_at_start']}, {machine['when']}.",
        ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    text = README.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    README.write_text(f"{head}{BEGIN}\n{table()}\n{END}{tail}")
    print(f"summary: the table in {README} is up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
