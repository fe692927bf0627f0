"""Dispatch latency against workers, the seed's flow and ours: bench/results/seed.png.

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
    source = RESULTS / "seed.json"
    if not source.exists():
        print("plot: skipped (no bench/results/seed.json yet: python -m bench seed)")
        return 0
    found: dict[str, Any] = json.loads(source.read_text())
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
    figure.tight_layout()
    figure.savefig(RESULTS / "seed.png", dpi=100)
    print(f"plot: wrote {RESULTS / 'seed.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
