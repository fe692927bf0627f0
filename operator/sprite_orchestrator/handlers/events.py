"""Kubernetes events with specific reasons: they complement status, never replace it."""

from __future__ import annotations

from typing import Any, cast

import kopf

from sprite_orchestrator.kube import Body

MAX_MESSAGE = 1024


def info(body: Body, reason: str, message: str) -> None:
    """A Normal event on the object (posted in the background by kopf)."""
    kopf.info(cast(Any, body), reason=reason, message=message[-MAX_MESSAGE:])


def warn(body: Body, reason: str, message: str) -> None:
    """A Warning event on the object."""
    kopf.warn(cast(Any, body), reason=reason, message=message[-MAX_MESSAGE:])
