"""AgentTask: one prompt for one agent on one worker of a pool."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from sprite_orchestrator.models.common import (
    DNS_LABEL,
    Conditions,
    ConfigMapKeyRef,
    Model,
    SecretKeyRef,
    Timestamp,
)
from sprite_orchestrator.models.worker import AgentState

# Big enough for any real prompt, small enough for etcd's 1.5 MiB object limit.
MAX_PROMPT = 1_000_000


class PromptFrom(Model):
    """Where to read the prompt when it is not inline."""

    config_map_key_ref: ConfigMapKeyRef | None = None
    secret_key_ref: SecretKeyRef | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> PromptFrom:
        if (self.config_map_key_ref is None) == (self.secret_key_ref is None):
            raise ValueError("promptFrom needs exactly one of configMapKeyRef, secretKeyRef")
        return self


class AgentTaskSpec(Model):
    """The intent: run this prompt on an idle worker of this pool."""

    pool: Annotated[str, Field(min_length=1, max_length=63, pattern=DNS_LABEL)]
    prompt: Annotated[str, Field(max_length=MAX_PROMPT)] | None = Field(
        default=None, description="The task, delivered byte for byte (control characters stripped)."
    )
    prompt_from: PromptFrom | None = None
    timeout_seconds: Annotated[int, Field(ge=1, le=2_592_000)] | None = None
    retries: Annotated[int, Field(ge=0, le=10)] = Field(
        default=0, description="Re-dispatch on worker loss, never after delivery."
    )
    ttl_seconds_after_finished: Annotated[int, Field(ge=0, le=31_536_000)] | None = Field(
        default=None, description="Delete the task this long after it finished."
    )
    priority: Annotated[int, Field(ge=-100, le=100)] = Field(
        default=0, description="Higher runs first; equal priorities run oldest first."
    )
    cancelled: bool = Field(
        default=False, description="Set to true to stop the task; its work is saved first."
    )


class AgentTaskStatus(Model):
    """What happened to the task, as observed."""

    worker_name: Annotated[str, Field(max_length=253)] | None = None
    agent_state: AgentState | None = None
    prompt_sha256: Annotated[str, Field(max_length=64)] | None = None
    delivered_time: Timestamp | None = None
    start_time: Timestamp | None = None
    completion_time: Timestamp | None = None
    attempts: Annotated[int, Field(ge=0)] = 0
    session_id: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="The agent's session (Claude Code's --session-id) for the task."
    )
    work_branch: Annotated[str, Field(max_length=255)] | None = Field(
        default=None, description="The branch that holds the agent's work (wip/<task>)."
    )
    work_commit: Annotated[str, Field(max_length=64)] | None = None
    last_snapshot_time: Timestamp | None = None
    observed_generation: Annotated[int, Field(ge=0)] | None = None
    conditions: Conditions = Field(default_factory=list)
