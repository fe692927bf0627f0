"""Conditions as Kubernetes API conventions define them, computed without I/O."""

from __future__ import annotations

from collections.abc import Sequence

from sprite_orchestrator.models.common import Condition, ConditionStatus

# Condition types.
SCHEDULED = "Scheduled"
DELIVERED = "Delivered"
NEEDS_INPUT = "NeedsInput"
SUCCEEDED = "Succeeded"
PROVISIONED = "Provisioned"
READY = "Ready"
BUSY = "Busy"

MAX_MESSAGE = 4096


def find(conditions: Sequence[Condition], type_: str) -> Condition | None:
    """The condition of this type, if set."""
    return next((c for c in conditions if c.type == type_), None)


def is_true(conditions: Sequence[Condition], type_: str) -> bool:
    """Whether the condition of this type is set and True."""
    found = find(conditions, type_)
    return found is not None and found.status == "True"


def upsert(
    conditions: Sequence[Condition],
    type_: str,
    status: ConditionStatus,
    *,
    reason: str,
    message: str = "",
    generation: int | None,
    now: str,
) -> list[Condition]:
    """Set one condition; lastTransitionTime moves only when the status changes."""
    old = find(conditions, type_)
    since = old.last_transition_time if old is not None and old.status == status else now
    new = Condition(
        type=type_,
        status=status,
        reason=reason,
        message=message[-MAX_MESSAGE:] if len(message) > MAX_MESSAGE else message,
        observed_generation=generation,
        last_transition_time=since,
    )
    others = [c for c in conditions if c.type != type_]
    position = next((i for i, c in enumerate(conditions) if c.type == type_), len(others))
    return [*others[:position], new, *others[position:]]
