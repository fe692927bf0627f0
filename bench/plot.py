"""The figures that tell more as curves: bench/results/seed.png (dispatch latency against
workers, the seed's flow and ours) and bench/results/scale.png (the operator's RSS and CPU
per poll cycle against workers).

Needs matplotlib (pip install 'sprite-orchestrator[bench]'); without it, says so and skips.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from bench.harness import RESULTS


def main(argv: list[str]) -> int:
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        print(
            "plot: skipped (matplotlib is not installed: pip install 'sprite-orchestrator[bench]')"
        )
        return 0
    for name, draw in (("seed", _seed), ("scale", _scale)):
        source = RESULTS / f"{name}.json"
        if not source.exists():
            print(f"plot: {name}.png skipped (no {source} yet: python -m bench {name})")
            continue
        figure = draw(pyplot, json.loads(source.read_text()))
        figure.tight_layout()
        figure.savefig(RESULTS / f"{name}.png", dpi=100)
        print(f"plot: wrote {RESULTS / f'{name}.png'}")
    return 0


def _seed(pyplot: Any, found: dict[str, Any]) -> Any:
    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    for side, style in (("ssh", "-"), ("local", "--")):
        points = found.get(side)
        if not isinstance(points, list) or not points:
            continue
        workers = [p["workers"] for p in points]
        for key, label in (("seed_ms", "seed (shell)"), ("ours_api_ms", "ours (API)"),
                           ("ours_cli_ms", "ours (CLI)")):  # fmt: skip
            medians = [p[key]["median"] for p in points]
            axes.plot(workers, medians, style, marker="o", label=f"{label}, {side}")
    axes.set_xlabel("workers (all but one busy)")
    axes.set_ylabel("dispatch latency, median (ms)")
    axes.set_yscale("log")
    axes.set_title("Prompt sent -> read by the agent")
    axes.legend(fontsize="small")
    return figure


def _scale(pyplot: Any, found: dict[str, Any]) -> Any:
    points = found["points"]
    workers = [p["workers"] for p in points]
    figure, (rss, cpu) = pyplot.subplots(1, 2, figsize=(9, 4))
    rss.plot(workers, [p["operator_rss_mb"] for p in points], marker="o", label="operator")
    rss.plot(workers, [p["api_rss_mb"] for p in points], "--", marker="o", label="API emulator")
    rss.axhline(found.get("target_rss_mb", 300), color="grey", linestyle=":", label="target")
    rss.set_xlabel("workers (10 tasks each)")
    rss.set_ylabel("RSS (MB)")
    rss.legend(fontsize="small")
    interval = found["poll_interval_s"]
    cpu.plot(workers, [p["operator_cpu_s_per_poll_cycle"] for p in points], marker="o")
    cpu.set_xlabel("workers (10 tasks each)")
    cpu.set_ylabel(f"operator CPU-s per {interval} s poll cycle")
    figure.suptitle("One operator, N workers (provider double)")
    return figure


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
