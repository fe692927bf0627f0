"""Named crash points, for the tests that kill the operator at every step of a dispatch.

`failpoint("after-paste")` does nothing unless the environment variable
SPRITE_ORCHESTRATOR_FAILPOINTS names it (comma-separated names); then the process says so on
stderr and SIGKILLs itself, there and then, as an OOM kill or a node loss would. It exists
because "handlers are re-runnable after a crash at any line" is only believable if a test
crashes them at the lines that matter (between binding, provisioning steps, the paste and
the status write) every time, not when a random kill happens to land there (etcd's gofail
does the same). Read once per call, so a restarted operator without the variable runs clean.
"""

from __future__ import annotations

import os
import signal
import sys

VARIABLE = "SPRITE_ORCHESTRATOR_FAILPOINTS"


def armed(name: str) -> bool:
    """Whether `name` is one of the failpoints the environment arms."""
    names = os.environ.get(VARIABLE, "")
    return bool(names) and name in (n.strip() for n in names.split(","))


def failpoint(name: str) -> None:
    """SIGKILL this process here if `name` is armed; otherwise nothing at all."""
    if not armed(name):
        return
    sys.stderr.write(f"failpoint {name}: killing process {os.getpid()}\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)
