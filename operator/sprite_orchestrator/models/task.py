"""AgentTask: one prompt for one agent on one worker of a pool."""

from __future__ import annotations

from typing import Annotated, Literal

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


ReadingSource = Literal["window", "pane", "session", "hook", "agent"]
CostSource = Literal["Claude", "PriceTable"]


class TranscriptSummary(Model):
    """The agent's session transcript in brief; `orchestrator logs TASK` shows more."""

    turns: Annotated[int, Field(ge=0)] = Field(default=0, description="Model responses.")
    tool_uses: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict,
        max_length=64,
        description="Tool calls by tool name (Bash, Edit, Write, ...).",
    )
    last_message: Annotated[str, Field(max_length=1024)] = Field(
        default="", description="The agent's last words, cut to 1 KB."
    )
    input_tokens: Annotated[int, Field(ge=0)] = Field(
        default=0, description="Input tokens, cache reads and writes included."
    )
    output_tokens: Annotated[int, Field(ge=0)] = 0
    cost_usd: Annotated[float, Field(ge=0)] | None = Field(
        default=None,
        alias="costUSD",
        description="What the session cost in US dollars, where the model's price is known.",
    )
    cost_source: CostSource | None = Field(
        default=None,
        description="Claude (its own figure, once the session ended) or PriceTable (estimated "
        "from the tokens).",
    )
    observed_time: Timestamp | None = Field(default=None, description="When it was read.")


class AgentTaskStatus(Model):
    """What happened to the task, as observed."""

    worker_name: Annotated[str, Field(max_length=253)] | None = None
    agent_state: AgentState | None = None
    agent_state_source: ReadingSource | None = Field(
        default=None,
        description="Who says so: window (window 1's name), hook (the status hook's file), "
        "agent (Claude's own session state), pane (a dead pane), session (a lost session).",
    )
    agent_state_time: Timestamp | None = Field(
        default=None,
        description="Since when the agent has been in agentState, by that source's evidence.",
    )
    prompt_sha256: Annotated[str, Field(max_length=64)] | None = None
    delivered_time: Timestamp | None = None
    start_time: Timestamp | None = None
    completion_time: Timestamp | None = None
    queued_time: Timestamp | None = Field(
        default=None,
        description="When the operator admitted the task, to the microsecond: with "
        "creationTimestamp (whole seconds), the order in which the pool serves it.",
    )
    attempts: Annotated[int, Field(ge=0)] = 0
    session_id: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="The agent's session (Claude Code's --session-id) for the task."
    )
    work_branch: Annotated[str, Field(max_length=255)] | None = Field(
        default=None, description="The branch that holds the agent's work (wip/<task>)."
    )
    work_commit: Annotated[str, Field(max_length=64)] | None = None
    last_snapshot_time: Timestamp | None = None
    transcript: TranscriptSummary | None = None
    observed_generation: Annotated[int, Field(ge=0)] | None = None
    conditions: Conditions = Field(default_factory=list)
