"""`orchestrator send`: the seed's send-to-worker, for a human answering a NeedsInput."""

from __future__ import annotations

import sys
import uuid
from typing import Annotated

import typer

from sprite_orchestrator.cli import machines, reading
from sprite_orchestrator.cli.app import app
from sprite_orchestrator.cli.common import (
    Context,
    Kubeconfig,
    Namespace,
    Target,
    connect,
    console,
    fail,
    run,
)
from sprite_orchestrator.core import naming
from sprite_orchestrator.worker import delivery
from sprite_orchestrator.worker.remote import WorkerError


@app.command()
def send(
    worker: Annotated[str, typer.Argument(help="The Worker (kite-1).")],
    text: Annotated[
        str, typer.Argument(help="What to type; - reads stdin (one trailing newline dropped).")
    ],
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
) -> None:
    """Paste TEXT into the worker's agent and press Enter (e.g. `y` to a permission prompt)."""
    data = text
    if text == "-":
        data = _stdin_text()
    if not data.strip():
        fail("the text is empty: say what to send (e.g. `y` to approve a permission prompt)")
    target = connect(kubeconfig, context, namespace)
    run(target, _send(target, worker, data))


def _stdin_text() -> str:
    """Stdin as text, one trailing newline dropped; bytes that are not UTF-8 are refused."""
    raw = sys.stdin.buffer.read()
    try:
        return raw.decode("utf-8").removesuffix("\n")
    except UnicodeDecodeError as exc:
        fail(
            f"stdin is not UTF-8 text (byte {exc.start} is not); nothing was sent. "
            "Convert it first, e.g. iconv -t UTF-8"
        )


async def _send(target: Target, name: str, text: str) -> None:
    body = await reading.get(target, "workers", name)
    provider = await machines.provider(target, body)
    # Its own marker each time: the same exactly-once paste, never confused with a task's.
    marker = naming.delivery_marker(f"send-{name}", uuid.uuid4().hex)
    try:
        done = await delivery.deliver(
            provider,
            name,
            session=naming.session_name(body["spec"]["pool"]),
            marker=marker,
            prompt=text,
        )
    except WorkerError as exc:
        fail(f"could not send to {name}: {exc}")
    finally:
        await provider.close()
    console.print(f"sent {done.bytes_len} bytes to {name} (sha256 {done.sha256[:12]})")
