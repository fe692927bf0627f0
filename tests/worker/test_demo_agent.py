"""The demo agent's terminal input: bracketed pastes and keys, however the bytes arrive."""

from __future__ import annotations

import importlib.resources
import importlib.util
from types import ModuleType

import pytest


def load_demo_agent() -> ModuleType:
    asset = importlib.resources.files("sprite_orchestrator.worker") / "assets" / "demo-agent.py"
    with importlib.resources.as_file(asset) as path:
        spec = importlib.util.spec_from_file_location("demo_agent", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


demo = load_demo_agent()


def submissions(stream: bytes, chunk: int) -> list[bytes]:
    """Feed `stream` to the parser `chunk` bytes at a time; collect what it submits."""
    keys = demo.Input(fd=-1)
    found = []
    for start in range(0, len(stream), chunk):
        keys.raw += stream[start : start + chunk]
        while (line := keys._parse()) is not None:
            if line:
                found.append(line)
    return found


PASTE = b"line one\nline two\r\n\twith \x1b[1m escapes \x1b[201 and \xf0\x9f\x98\x80"


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 4096])
def test_a_paste_and_enter_is_one_submission_whatever_the_chunks(chunk: int) -> None:
    stream = b"\x1b[200~" + PASTE + b"\x1b[201~\r" + b"\x1b[200~second\x1b[201~\r"
    assert submissions(stream, chunk) == [PASTE, b"second"]


def test_typed_keys() -> None:
    assert submissions(b"yes\x7f\x7fx\r", 1) == [b"yx"]
    assert submissions(b"abc\x03y\r", 1) == [b"y"]  # Ctrl-C clears the line
    assert submissions(b"\r\r", 1) == []  # an empty Enter submits nothing


def test_ctrl_d_on_an_empty_line_exits() -> None:
    with pytest.raises(demo.Exit):
        submissions(b"\x04", 1)


def test_directives() -> None:
    assert demo._work_seconds("x demo:sleep=2.5 y") == 2.5
    assert demo._work_seconds("nothing") == demo.DEFAULT_WORK_SECONDS
