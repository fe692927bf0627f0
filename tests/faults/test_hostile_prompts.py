"""Hostile prompts: delivered exactly as the contract says, or rejected with a clear reason.

The contract (core/prompts.py): control characters other than tab and newline, and bidi
controls, are stripped; everything else arrives byte for byte, inside one bracketed paste
that nothing in the prompt can end early; the prompt travels on stdin, never in an argv.
Text that is not Unicode (lone surrogates) or longer than MAX_PROMPT is refused by the
model with the field named; a prompt that is empty once stripped is InvalidSpec.

10,000 prompts go through the pure path (API JSON, model, `inputs.prompt`, sanitize, the
exact argv and stdin of the delivery, and the demo agent's own paste parser); a few hundred
go through real tmux into the demo agent, a raw-mode reader that saves what it receives.
"""

from __future__ import annotations

import json
import os
import pathlib
import random
import subprocess
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sprite_orchestrator.core import prompts
from sprite_orchestrator.handlers import inputs
from sprite_orchestrator.models import AgentTaskSpec
from sprite_orchestrator.models.task import MAX_PROMPT
from sprite_orchestrator.providers.base import ExecResult
from sprite_orchestrator.worker import delivery, remote
from tests.faults.conftest import CLI
from tests.worker.test_demo_agent import submissions
from tests.worker.workerkit import Worker, eventually

FUZZED = 10_000
SEED = 1125
BIDI = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
ESCAPES = [
    "\x1b[201~",  # the bracketed-paste end marker
    "\x1b[200~",
    "\x1b[?2004l",  # bracketed paste off
    "\x1b]0;title\x07",
    "\x1b]52;c;ZWNobyBwd25lZA==\x07",  # OSC 52: set the clipboard
    "\x1bP+q544e\x1b\\",  # DCS
    "\x1b[31m",
    "\x1bc",  # full reset
    "\x9b201~",  # the 8-bit CSI form
    "\x1b",
    "\r",
    "\r\n",
    "\x03",  # Ctrl-C
    "\x04",  # Ctrl-D
    "\x7f",
    "\x00",
]
WORDS = ["fix", "the", "$(rm -rf ~)", "`id`", "'", '"', ";", "#{pane_id}", "\\", "\t", "\n", " "]
MARKER = "fuzz-task"
SESSION = "demo-dev"


def _control(ch: str) -> bool:
    """The contract's stripped set, written independently of core/prompts.py."""
    return (unicodedata.category(ch) == "Cc" and ch not in "\t\n") or ord(ch) in BIDI


def _unicode(rng: random.Random, size: int) -> str:
    """Code points from every plane that is not surrogates."""
    out = []
    for _ in range(size):
        cp = rng.choice([rng.randrange(0x20, 0x7F), rng.randrange(0, 0x110000)])
        out.append(chr(cp if not 0xD800 <= cp <= 0xDFFF else 0xFFFD))
    return "".join(out)


def fuzzed(count: int, seed: int = SEED) -> Iterator[tuple[str, str]]:
    """(kind, prompt): random bytes as UTF-8, controls, escapes, Unicode, NULs, surrogates,
    and every thousandth a 1 MB prompt (one of them a character too long)."""
    rng = random.Random(seed)
    for i in range(count):
        if i % 1000 == 999:
            size = MAX_PROMPT + 1 if i == count - 1 else MAX_PROMPT
            yield "1MB", (_unicode(rng, 64) + "x" * size)[:size]
            continue
        kind = ("bytes", "bytes-escaped", "controls", "escapes", "unicode", "nul", "surrogate")[
            i % 7
        ]
        size = rng.randrange(0, 400)
        if kind == "bytes":
            text = rng.randbytes(size).decode("utf-8", "replace")
        elif kind == "bytes-escaped":  # undecodable bytes become lone surrogates
            text = rng.randbytes(size).decode("utf-8", "surrogateescape")
        elif kind == "controls":
            pool = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0), *BIDI)] + WORDS
            text = "".join(rng.choice(pool) for _ in range(size // 4))
        elif kind == "escapes":
            text = "".join(rng.choice(ESCAPES + WORDS) for _ in range(size // 8))
        elif kind == "unicode":
            text = _unicode(rng, size // 2)
        elif kind == "nul":
            text = "\x00".join(rng.choice(WORDS) for _ in range(size // 8))
        else:
            text = _unicode(rng, size // 4)
            at = rng.randrange(0, len(text) + 1)
            text = text[:at] + chr(rng.randrange(0xD800, 0xE000)) + text[at:]
        yield kind, text


class Recorder:
    """A provider that records what an exec would run, and answers like deliver.sh."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], bytes]] = []

    async def exec(
        self, name: str, argv: Sequence[str], *, stdin: bytes = b"", timeout: float = 60.0
    ) -> ExecResult:
        self.calls.append((list(argv), stdin))
        return ExecResult(0, b"result=pasted\ntmux_us=1\n", b"")


def _from_the_api(text: str) -> object:
    """The spec as the operator gets it: JSON to the API server and back."""
    return json.loads(json.dumps({"pool": "demo", "prompt": text}))


async def outcome(text: str) -> tuple[str, bytes | None]:
    """What happens to one prompt: ("delivered", bytes pasted) or ("rejected: why", None)."""
    try:
        spec = AgentTaskSpec.model_validate(_from_the_api(text))
    except pydantic.ValidationError as exc:
        [error] = exc.errors()
        assert error["loc"] == ("prompt",), error
        return f"rejected: {error['type']}", None
    try:
        accepted = await inputs.prompt(None, "default", spec)  # type: ignore[arg-type]
    except inputs.InvalidInput as exc:
        assert "spec.prompt is empty" in str(exc)
        return "rejected: empty", None
    recorder = Recorder()
    done = await delivery.deliver(
        recorder,  # type: ignore[arg-type]
        "demo-1",
        session=SESSION,
        marker=MARKER,
        prompt=accepted,
    )
    [(argv, stdin)] = recorder.calls
    digest = prompts.sha256(stdin)
    assert argv == ["bash", "-c", remote.asset("deliver.sh"), "deliver.sh", MARKER, SESSION, digest]
    assert done.sha256 == digest and done.bytes_len == len(stdin)
    return "delivered", stdin


def assert_as_the_contract_says(kind: str, text: str, result: str, data: bytes | None) -> None:
    surrogates = any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)
    if surrogates:
        assert result == "rejected: string_unicode", (kind, result)
        return
    if len(text) > MAX_PROMPT:
        assert result == "rejected: string_too_long", (kind, result)
        return
    expected = "".join(ch for ch in text if not _control(ch))
    if not expected.strip():
        assert result == "rejected: empty", (kind, result)
        return
    assert result == "delivered" and data == expected.encode("utf-8"), kind
    assert b"\x1b" not in data and b"\r" not in data
    framed = b"\x1b[200~" + data + b"\x1b[201~\r"  # what tmux paste-buffer -p and Enter send
    chunk = 4096 if len(data) > 10_000 else 1 + len(data) % 7
    assert submissions(framed, chunk) == [data]  # the agent's parser: one paste, whole


async def test_10000_fuzzed_prompts_are_delivered_as_the_contract_says_or_refused() -> None:
    results: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for kind, text in fuzzed(FUZZED):
        result, data = await outcome(text)
        assert_as_the_contract_says(kind, text, result, data)
        results[result] += 1
        kinds[kind] += 1
    assert sum(results.values()) == FUZZED
    assert results["delivered"] > 5000
    assert results["rejected: string_unicode"] > 1000  # every surrogate kind, most bytes
    assert results["rejected: string_too_long"] == 1
    assert results["rejected: empty"] > 10
    print(f"\n{FUZZED} prompts fuzzed: {dict(results)}; kinds {dict(kinds)}")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_is_stripped_to_the_contract_and_pasted_whole(text: str) -> None:
    cleaned = prompts.sanitize(text)
    assert prompts.sanitize(cleaned) == cleaned
    assert cleaned == "".join(ch for ch in text if not _control(ch))
    data = prompts.encode(text)
    if data.strip():
        assert submissions(b"\x1b[200~" + data + b"\x1b[201~\r", 3) == [data]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_bytes_that_are_not_utf8_never_reach_an_agent(raw: bytes) -> None:
    text = raw.decode("utf-8", "surrogateescape")  # how a CLI argument carries such bytes
    try:
        raw.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    try:
        AgentTaskSpec.model_validate(_from_the_api(text))
        accepted = True
    except pydantic.ValidationError as exc:
        assert exc.errors()[0]["loc"] == ("prompt",)
        accepted = False
    assert accepted == valid


REAL = 200
# A raw-mode reader in window 1 instead of the agent: it asks for bracketed paste, as Claude
# does, and appends every byte the terminal gives it to a file.
READER = """import os, sys, tty
tty.setraw(0)
os.write(1, b"\\x1b[?2004h")
with open(sys.argv[1], "ab", buffering=0) as out:
    while chunk := os.read(0, 65536):
        out.write(chunk)
"""


def real_tmux_prompts() -> list[str]:
    """A few hundred fuzzed prompts that pass the model, and one of 1 MB."""
    chosen: list[str] = []
    for kind, text in fuzzed(FUZZED, seed=SEED + 1):
        if kind == "1MB" or any(0xD800 <= ord(c) <= 0xDFFF for c in text):
            continue
        if prompts.sanitize(text).strip() and len(chosen) < REAL:
            chosen.append(text)
    chosen.append(("ünïcödé 👩\u200d💻 \x1b[201~ $(id) " * 30_000)[:MAX_PROMPT])
    return chosen


@pytest.mark.timeout(300)
async def test_a_few_hundred_fuzzed_prompts_through_real_tmux_arrive_byte_for_byte(
    worker: Worker,
) -> None:
    reader, received = worker.home / "reader.py", worker.home / "received.bin"
    reader.write_text(READER)
    worker.tmux(
        "respawn-pane", "-k", "-t", f"={worker.session}:1", "python3", str(reader), str(received)
    )
    await eventually(lambda: _asked_for_paste(worker), what="the reader in raw mode")
    sent = real_tmux_prompts()

    for i, text in enumerate(sent):
        done = await delivery.deliver(
            worker.provider, worker.name, session=worker.session, marker=f"fuzz-{i}", prompt=text
        )
        assert done.pasted

    expected = b"".join(b"\x1b[200~" + prompts.encode(t) + b"\x1b[201~\r" for t in sent)
    await eventually(lambda: _size(received, len(expected)), timeout=120, what="every byte")
    assert received.read_bytes() == expected
    print(f"\n{len(sent)} prompts through real tmux, {len(expected)} bytes, all exact")


async def _asked_for_paste(worker: Worker) -> bool:
    return (
        worker.tmux(
            "display", "-p", "-t", f"={worker.session}:1", "#{pane_current_command}"
        ).strip()
        == "python3"
    )


async def _size(path: pathlib.Path, size: int) -> bool:
    return path.exists() and path.stat().st_size >= size


@pytest.mark.parametrize("where", ["--command", "--from-file"])
def test_the_cli_refuses_a_prompt_that_is_not_utf8_in_one_line(
    where: str, tmp_path: pathlib.Path
) -> None:
    bad = b"fix \xff\xfe the bug \xed\xa0\x80"  # invalid bytes, an encoded lone surrogate
    prompt_file = tmp_path / "prompt.txt"
    prompt_file.write_bytes(bad)
    value = os.fsdecode(bad) if where == "--command" else str(prompt_file)
    result = subprocess.run(
        [*CLI, "dispatch", "--repo", "demo", where, value],
        capture_output=True,
        env={**os.environ, "KUBECONFIG": str(tmp_path / "none")},
        timeout=60,
    )
    assert result.returncode == 2
    err = result.stderr.decode()
    assert "the prompt is not UTF-8 text" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
