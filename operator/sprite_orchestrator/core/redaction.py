"""Secret values kept out of what users read: conditions, events, logs.

A setup script can print anything it can read, the deploy key and the agent's credentials
included; the tail of its output goes into a condition. Known secret values are replaced
before that, whole and line by line (a PEM key is printed a line at a time).
"""

from __future__ import annotations

from collections.abc import Iterable

MARK = "[redacted]"
# Shorter pieces are too likely to be ordinary words; no real key or token is this short.
MIN_SECRET = 8


def pieces(secrets: Iterable[str | bytes]) -> list[str]:
    """Each secret and each of its lines worth hiding, longest first (so none is half-hidden)."""
    found: set[str] = set()
    for secret in secrets:
        text = secret.decode("utf-8", "replace") if isinstance(secret, bytes) else secret
        for piece in (text.strip(), *text.splitlines()):
            if len(piece.strip()) >= MIN_SECRET:
                found.add(piece.strip())
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str | bytes]) -> str:
    """`text` with every known secret value (and every line of one) replaced by MARK."""
    for piece in pieces(secrets):
        text = text.replace(piece, MARK)
    return text
