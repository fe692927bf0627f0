"""What a prompt becomes on its way to the agent, and the proof of what was delivered."""

from __future__ import annotations

import hashlib
import re

# C0 controls except tab and newline, DEL, and C1 controls: an ESC would end the
# bracketed paste early (`ESC[201~`) and turn the rest of the prompt into keystrokes.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def sanitize(prompt: str) -> str:
    """Strip control characters other than tab and newline (CRLF becomes LF)."""
    return _CONTROL.sub("", prompt)


def encode(prompt: str) -> bytes:
    """The exact bytes pasted into the agent: the sanitized prompt as UTF-8."""
    return sanitize(prompt).encode("utf-8")


def sha256(data: bytes) -> str:
    """The hex digest recorded in the task's status as proof of what was delivered."""
    return hashlib.sha256(data).hexdigest()
