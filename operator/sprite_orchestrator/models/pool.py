"""WorkerPool: one per repo; the intent for a pool of worker machines."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic.config import JsonDict

from sprite_orchestrator.models.common import (
    DNS_LABEL,
    Conditions,
    Model,
    ObjectRef,
    SecretKeyRef,
)

ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
# An absent section defaults to {} in the CRD, and the API server then fills its fields.
FILLED: JsonDict = {"default": {}}


class RepoSpec(Model):
    """The git repository every worker of the pool clones at `~/<pool>`."""

    url: Annotated[str, Field(min_length=1, max_length=2048)] = Field(
        description="Any git URL; a local path or file:// URL works for the Local provider."
    )
    ref: Annotated[str, Field(min_length=1, max_length=255)] | None = Field(
        default=None,
        description="Branch, tag or commit to check out; the remote's default if unset.",
    )
    setup_script: Annotated[str, Field(min_length=1, max_length=1024)] | None = Field(
        default="scripts/dev-setup.sh",
        description="Path in the repo run once after cloning, if present.",
    )
    deploy_key_secret_ref: SecretKeyRef | None = Field(
        default=None, description="SSH private key used to clone (key defaults to ssh-privatekey)."
    )
    known_hosts_secret_ref: SecretKeyRef | None = Field(
        default=None,
        description="known_hosts of the git host, required with a deploy key over SSH "
        "(key defaults to known_hosts); host keys are always verified.",
    )


class LocalProviderSpec(Model):
    """tmux on the operator's own host: needs no cloud."""


class SSHHost(Model):
    """One machine of the SSH inventory."""

    address: Annotated[str, Field(min_length=1, max_length=253)]
    port: Annotated[int, Field(ge=1, le=65535)] = 22


class SSHProviderSpec(Model):
    """Machines of your own, reached over SSH."""

    hosts: Annotated[list[SSHHost], Field(min_length=1, max_length=256)]
    user: Annotated[str, Field(min_length=1, max_length=64)]
    private_key_secret_ref: SecretKeyRef
    known_hosts_secret_ref: SecretKeyRef


class SpritesProviderSpec(Model):
    """Fly.io Sprites: one sprite per worker, named after it."""

    token_secret_ref: SecretKeyRef = Field(
        description="The Sprites API token (key defaults to token)."
    )
    base_url: Annotated[str, Field(max_length=2048, pattern=r"^https?://\S+$")] | None = Field(
        default=None, description="The Sprites API; https://api.sprites.dev if unset."
    )


ProviderType = Literal["Local", "SSH", "Sprites"]


class ProviderSpec(Model):
    """Where workers run: a `type` discriminator plus the one matching member."""

    type: ProviderType = "Local"
    local: LocalProviderSpec | None = None
    ssh: SSHProviderSpec | None = None
    sprites: SpritesProviderSpec | None = None

    @model_validator(mode="after")
    def _member_matches_type(self) -> ProviderSpec:
        members = {"Local": self.local, "SSH": self.ssh, "Sprites": self.sprites}
        if self.type != "Local" and members[self.type] is None:
            raise ValueError(
                f"provider.type is {self.type} but provider.{self.type.lower()} is missing"
            )
        extra = [k for k, v in members.items() if v is not None and k != self.type]
        if extra:
            raise ValueError(f"provider.type is {self.type} but {extra[0].lower()} is set too")
        return self


class EnvVar(Model):
    """An extra environment variable for the agent."""

    name: Annotated[str, Field(min_length=1, max_length=128, pattern=ENV_NAME)]
    value: Annotated[str, Field(max_length=32768)] = ""


PermissionMode = Literal["acceptEdits", "auto", "bypassPermissions", "manual", "dontAsk", "plan"]


class AgentSpec(Model):
    """The agent started in tmux window 1 of every worker."""

    command: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=4096)]],
        Field(min_length=1, max_length=64),
    ] = Field(
        default_factory=lambda: ["claude"],
        description="argv started in window 1.",
        json_schema_extra={"default": ["claude"]},
    )
    permission_mode: PermissionMode = Field(
        default="acceptEdits", description="Passed to Claude Code; its own default opens dialogs."
    )
    auth_secret_ref: ObjectRef | None = Field(
        default=None,
        description="Secret with ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN.",
    )
    env: Annotated[list[EnvVar], Field(max_length=64)] = Field(
        default_factory=list, json_schema_extra={"default": []}
    )


class ScalingSpec(Model):
    """How many workers the pool keeps and may create."""

    min_idle: Annotated[int, Field(ge=0, le=100)] = Field(
        default=1, description="Warm, provisioned, idle workers kept ready."
    )
    max_workers: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=5, description="The pool never holds more workers than this."
    )
    idle_timeout_seconds: Annotated[int, Field(ge=0, le=31_536_000)] = Field(
        default=1800, description="Idle longer than this → destroyed (never a busy one)."
    )


class SnapshotSpec(Model):
    """The seed's 30-minute commit rule, enforced."""

    interval_seconds: Annotated[int, Field(ge=60, le=86_400)] = 1800


class ProvisioningSpec(Model):
    """How long making a worker may take, and how often it may fail before it is replaced."""

    timeout_seconds: Annotated[int, Field(ge=1, le=86_400)] = Field(
        default=900, description="One provisioning attempt longer than this fails (timed out)."
    )
    max_failures: Annotated[int, Field(ge=1, le=100)] = Field(
        default=3,
        description="Attempts failing in a row before the worker is deleted and replaced.",
    )


class WorkerPoolSpec(Model):
    """A pool of workers for one repo."""

    repo: RepoSpec
    provider: ProviderSpec = Field(default_factory=ProviderSpec, json_schema_extra=FILLED)
    agent: AgentSpec = Field(default_factory=AgentSpec, json_schema_extra=FILLED)
    scaling: ScalingSpec = Field(default_factory=ScalingSpec, json_schema_extra=FILLED)
    poll_interval_seconds: Annotated[int, Field(ge=1, le=3600)] = 5
    snapshot: SnapshotSpec = Field(default_factory=SnapshotSpec, json_schema_extra=FILLED)
    provisioning: ProvisioningSpec = Field(
        default_factory=ProvisioningSpec, json_schema_extra=FILLED
    )


class WorkerPoolStatus(Model):
    """What the operator observed of the pool."""

    replicas: Annotated[int, Field(ge=0)] = 0
    ready_replicas: Annotated[int, Field(ge=0)] = 0
    busy_replicas: Annotated[int, Field(ge=0)] = 0
    observed_generation: Annotated[int, Field(ge=0)] | None = None
    conditions: Conditions = Field(default_factory=list)


POOL_NAME_PATTERN = DNS_LABEL
