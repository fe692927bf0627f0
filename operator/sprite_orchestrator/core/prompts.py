"""What a prompt becomes on its way to the agent, and the proof of what was delivered."""

from __future__ import annotations

import hashlib
import re

# C0 controls except tab and newline, DEL, and C1 controls: an ESC would end the
# bracketed paste early (`ESC[201~`) and turn the rest of the prompt into keystrokes.
# Bidi controls (ALM, LRM/RLM, LRE..RLO, LRI..PDI) too: Claude Code 2.1.332 strips them
# from a paste and then holds the prompt for a person to review, so it is never submitted.
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def sanitize(prompt: str) -> str:
    """Strip control characters other than tab and newline (CRLF becomes LF), and bidi
    controls; everything else (emoji, ZWJ, combining marks, `$`, quotes) stays as it is."""
    return _CONTROL.sub("", prompt)


def encode(prompt: str) -> bytes:
    """The exact bytes pasted into the agent: the sanitized prompt as UTF-8."""
    return sanitize(prompt).encode("utf-8")


def sha256(data: bytes) -> str:
    """The hex digest recorded in the task's status as proof of what was delivered."""
    return hashlib.sha256(data).hexdigest()
