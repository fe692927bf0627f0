"""Worker: one per machine, created and deleted by the operator, owned by its pool."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from sprite_orchestrator.models.common import DNS_LABEL, Conditions, Model, ObjectRef, Timestamp
from sprite_orchestrator.models.pool import ProviderSpec

AgentState = Literal["agent:waiting", "agent:running", "agent:completed", "agent:error"]


class WorkerSpec(Model):
    """Set once by the operator at creation; never changed."""

    pool: Annotated[str, Field(min_length=1, max_length=63, pattern=DNS_LABEL)]
    provider: ProviderSpec | None = Field(
        default=None,
        description="The pool's remote provider when this Worker was made (Secret references "
        "only), so that its machine is destroyed with it even after the pool is gone.",
    )


class WorkerStatus(Model):
    """What the operator observed on the machine."""

    agent_state: AgentState | None = Field(
        default=None, description="The raw name of tmux window 1: the seed's status protocol."
    )
    task_ref: ObjectRef | None = Field(
        default=None, description="The AgentTask bound to this worker (compare-and-swap)."
    )
    machine: Annotated[str, Field(max_length=1024)] | None = Field(
        default=None, description="The provider's id or address of the machine."
    )
    last_poll_time: Timestamp | None = None
    provision_failures: Annotated[int, Field(ge=0)] = Field(
        default=0, description="Provisioning attempts failed in a row (0 once provisioned)."
    )
    bound_time: Timestamp | None = None
    idle_since_time: Timestamp | None = None
    observed_generation: Annotated[int, Field(ge=0)] | None = None
    conditions: Conditions = Field(default_factory=list)
