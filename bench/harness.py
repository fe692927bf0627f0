"""What every benchmark shares: the machine, the figures, and the API and operator as processes.

The API emulator runs in its own process (`orchestrator dev --api-only`) and the operator in
another (`python -m bench.operate`, which is `orchestrator operator` and, on request, a
provider double), so the operator's own RSS and CPU can be read from /proc apart from the
emulator's: the emulator is a dev convenience, the operator is the product.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pathlib
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sprite_orchestrator.kube import Kube, configuration

RESULTS = pathlib.Path(__file__).parent / "results"
ROOT = pathlib.Path(__file__).resolve().parent.parent
NS = "default"
STARTUP = 60.0
CLI = (sys.executable, "-m", "sprite_orchestrator.cli")
T = TypeVar("T")


def machine() -> dict[str, object]:
    """Where the figures were taken: they mean little without it."""
    model = ""
    with contextlib.suppress(OSError):
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    tmux = subprocess.run(["tmux", "-V"], capture_output=True, text=True).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": model or platform.processor(),
        "python": platform.python_version(),
        "tmux": tmux,
        "kernel": platform.release(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def stats(samples: Sequence[float], *, scale: float = 1000.0, digits: int = 1) -> dict[str, Any]:
    """Median, p90, p99, min and max of `samples` (seconds → ms by default)."""
    values = sorted(s * scale for s in samples)
    if not values:
        return {"n": 0}

    def pick(q: float) -> float:
        return round(values[min(len(values) - 1, round(q * (len(values) - 1)))], digits)

    return {
        "n": len(values),
        "median": round(statistics.median(values), digits),
        "p90": pick(0.9),
        "p99": pick(0.99),
        "min": round(values[0], digits),
        "max": round(values[-1], digits),
    }


def report(name: str, found: dict[str, Any]) -> dict[str, Any]:
    """Write bench/results/<name>.json with the machine noted; return what was written."""
    found = {"benchmark": name, **found, "machine": machine()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(found, indent=2) + "\n")
    return found


def line(label: str, s: dict[str, Any], unit: str = "ms") -> str:
    if not s.get("n"):
        return f"{label}: no samples"
    return (
        f"{label}: median {s['median']} {unit}, p99 {s['p99']} {unit}"
        f" (n={s['n']}, min {s['min']}, max {s['max']})"
    )


async def until(
    probe: Callable[[], Awaitable[T]], *, timeout: float = 120.0, every: float = 0.005
) -> T:
    """The first truthy value of `probe`, polled every `every` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step timed out")
        await asyncio.sleep(every)


def requests(samples: dict[str, float]) -> dict[str, float]:
    """The operator's API requests so far by `verb resource`, from its metrics' samples."""
    found: dict[str, float] = {}
    for key, value in samples.items():
        if key.startswith("orchestrator_api_requests_total{"):
            labels = dict(
                part.split("=", 1) for part in key[key.index("{") + 1 : -1].split(",") if part
            )
            name = f"{labels['verb'].strip(chr(34))} {labels['resource'].strip(chr(34))}"
            found[name] = found.get(name, 0.0) + value
    return found


# -- processes -------------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def usage(pid: int) -> dict[str, float]:
    """CPU seconds of the process itself and of its reaped children, and its RSS in MB."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    rss_kb = 0
    for row in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            rss_kb = int(row.split()[1])
    return {
        "cpu_s": (utime + stime) / _TICK,
        "children_cpu_s": (cutime + cstime) / _TICK,
        "rss_mb": rss_kb / 1024,
    }


def machine_cpu() -> float:
    """CPU seconds every CPU of the machine has spent busy since boot (/proc/stat)."""
    fields = [int(x) for x in pathlib.Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / _TICK


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment() -> dict[str, str]:
    """The benchmarks' own code first on the path, for the processes they start."""
    paths = [str(ROOT / "operator"), str(ROOT)]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def profile(pid: int, label: str) -> subprocess.Popen[bytes] | None:
    """With $BENCH_PROFILE=DIR, py-spy samples the operator into DIR/<label>-<pid>.txt.

    The file is py-spy's collapsed stacks (one line per stack, with its count): read it with
    `python -m bench.hot FILE`, or draw it with any flame-graph tool. py-spy writes it when
    stopped (SIGINT), which `Stack.stop` does first.
    """
    folder = os.environ.get("BENCH_PROFILE")
    beside = pathlib.Path(sys.executable).parent / "py-spy"  # the venv's, if not on $PATH
    spy = shutil.which("py-spy") or (str(beside) if beside.exists() else None)
    if not folder or spy is None:
        return None
    pathlib.Path(folder).mkdir(parents=True, exist_ok=True)
    out = pathlib.Path(folder) / f"{label}-{pid}.txt"
    argv = [spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "50", "-o", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Stack:
    """The emulated API and the operator, each in its own process, and a client of the API."""

    def __init__(self, root: pathlib.Path, *, double: bool = False) -> None:
        self.root = root
        self.double = double
        self.kubeconfig = root / "kubeconfig"
        self.state_dir = root / "workers"
        self.metrics_port = free_port()
        self.api: subprocess.Popen[bytes] | None = None
        self.operator: subprocess.Popen[bytes] | None = None
        self.profiler: subprocess.Popen[bytes] | None = None
        self._kube: Kube | None = None

    @property
    def kube(self) -> Kube:
        assert self._kube is not None
        return self._kube

    async def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        log = (self.root / "api.log").open("ab")
        dev = str(self.root / "dev")
        self.api = subprocess.Popen(
            [*CLI, "dev", "--api-only", "--kubeconfig", str(self.kubeconfig), "--state-dir", dev],
            stdout=log,
            stderr=log,
            env=environment(),
            start_new_session=True,
        )
        await until(self._kubeconfig_written, timeout=STARTUP, every=0.05)
        self._kube = Kube(configuration(kubeconfig=str(self.kubeconfig)))
        await self.start_operator()

    async def start_operator(self) -> None:
        # $BENCH_OPERATE replaces `-m bench.operate`, e.g. with a script that traces it
        operate = os.environ.get("BENCH_OPERATE", "-m bench.operate").split()
        argv = [sys.executable, *operate] + (["--double"] if self.double else [])
        argv += ["--kubeconfig", str(self.kubeconfig), "--state-dir", str(self.state_dir)]
        argv += ["--namespace", NS, "--metrics-port", str(self.metrics_port)]
        argv += ["--metrics-host", "127.0.0.1"]
        log = (self.root / "operator.log").open("ab")
        # kopf's login reads $KUBECONFIG, not the --kubeconfig the operator's client takes
        env = {**environment(), "KUBECONFIG": str(self.kubeconfig)}
        self.operator = subprocess.Popen(
            argv, stdout=log, stderr=log, env=env, cwd=ROOT, start_new_session=True
        )
        await until(self._metrics_served, timeout=STARTUP, every=0.05)
        self.profiler = profile(self.operator.pid, self.root.name)

    async def stop(self) -> None:
        if self.profiler is not None and self.profiler.poll() is None:
            self.profiler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            await asyncio.to_thread(self.profiler.wait, 60)
        for proc in (self.operator, self.api):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    await asyncio.to_thread(proc.wait, 20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self._kube is not None:
            self._kube.close()

    def operator_usage(self) -> dict[str, float]:
        assert self.operator is not None
        return usage(self.operator.pid)

    def api_usage(self) -> dict[str, float]:
        assert self.api is not None
        return usage(self.api.pid)

    def metrics(self) -> dict[str, float]:
        """The operator's Prometheus samples, name{labels} → value."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as reply:
            text = reply.read().decode()
        found: dict[str, float] = {}
        for row in text.splitlines():
            if row and not row.startswith("#"):
                key, _, value = row.rpartition(" ")
                with contextlib.suppress(ValueError):
                    found[key] = float(value)
        return found

    def metric(self, prefix: str) -> float:
        """The sum of every sample whose name{labels} starts with `prefix`."""
        return sum(v for k, v in self.metrics().items() if k.startswith(prefix))

    async def _kubeconfig_written(self) -> bool:
        self._check_alive(self.api, "api.log")
        return self.kubeconfig.exists() and self.kubeconfig.stat().st_size > 0

    async def _metrics_served(self) -> bool:
        self._check_alive(self.operator, "operator.log")
        try:
            await asyncio.to_thread(self.metrics)
        except OSError:
            return False
        return True

    def _check_alive(self, proc: subprocess.Popen[bytes] | None, log: str) -> None:
        if proc is not None and proc.poll() is not None:
            tail = (self.root / log).read_text(errors="replace")[-2000:]
            raise RuntimeError(f"a benchmark process exited with {proc.returncode}:\n{tail}")


@contextlib.asynccontextmanager
async def stack(root: pathlib.Path, *, double: bool = False) -> AsyncIterator[Stack]:
    """A running API and operator under `root`, stopped (and Local workers removed) after."""
    s = Stack(root, double=double)
    try:
        await s.start()
        yield s
    finally:
        await s.stop()
        await destroy_local(s.state_dir)


async def destroy_local(state_dir: pathlib.Path) -> None:
    """Kill the tmux servers of every Local worker under `state_dir` (they outlive us)."""
    from sprite_orchestrator.providers.local import LocalProvider

    local = state_dir / "local"
    if not local.is_dir():
        return
    for ns in local.iterdir():
        for pool in ns.iterdir():
            provider = LocalProvider(pool)
            await asyncio.gather(*(provider.destroy(m.name) for m in await provider.list()))
    shutil.rmtree(state_dir, ignore_errors=True)
