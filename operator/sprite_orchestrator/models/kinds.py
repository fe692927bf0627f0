"""The three kinds as the API knows them: names, short names, printer columns, models."""

from __future__ import annotations

import dataclasses

from pydantic import BaseModel

from sprite_orchestrator import GROUP, VERSION
from sprite_orchestrator.models.pool import WorkerPoolSpec, WorkerPoolStatus
from sprite_orchestrator.models.task import AgentTaskSpec, AgentTaskStatus
from sprite_orchestrator.models.worker import WorkerSpec, WorkerStatus


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of `kubectl get`."""

    name: str
    json_path: str
    type: str = "string"
    priority: int = 0
    description: str = ""


@dataclasses.dataclass(frozen=True)
class Kind:
    """A custom resource kind and everything its CRD says about it."""

    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    spec: type[BaseModel]
    status: type[BaseModel]
    columns: tuple[Column, ...]
    description: str

    @property
    def group(self) -> str:
        return GROUP

    @property
    def version(self) -> str:
        return VERSION

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"


def _condition(type_: str, field: str) -> str:
    return f'.status.conditions[?(@.type=="{type_}")].{field}'


AGE = Column("Age", ".metadata.creationTimestamp", "date")

WORKER_POOL = Kind(
    kind="WorkerPool",
    plural="workerpools",
    singular="workerpool",
    short_names=("wp",),
    spec=WorkerPoolSpec,
    status=WorkerPoolStatus,
    description="A pool of worker machines for one repo; AgentTasks are dispatched to its workers.",
    columns=(
        Column("Ready", ".status.readyReplicas", "integer", description="Idle, healthy workers."),
        Column("Busy", ".status.busyReplicas", "integer", description="Workers bound to a task."),
        Column("Max", ".spec.scaling.maxWorkers", "integer", description="At most this many."),
        Column("Provider", ".spec.provider.type"),
        Column("Status", _condition("Ready", "reason"), description="Reason of Ready."),
        AGE,
    ),
)

WORKER = Kind(
    kind="Worker",
    plural="workers",
    singular="worker",
    short_names=("wk",),
    spec=WorkerSpec,
    status=WorkerStatus,
    description="One worker machine of a pool; created and deleted by the operator.",
    columns=(
        Column("Pool", ".spec.pool"),
        Column("Agent", ".status.agentState", description="The name of tmux window 1."),
        Column("Task", ".status.taskRef.name"),
        Column("Ready", _condition("Ready", "status")),
        AGE,
    ),
)

AGENT_TASK = Kind(
    kind="AgentTask",
    plural="agenttasks",
    singular="agenttask",
    short_names=("at",),
    spec=AgentTaskSpec,
    status=AgentTaskStatus,
    description="A prompt dispatched to an idle worker of a pool, delivered exactly once.",
    columns=(
        Column("Pool", ".spec.pool"),
        Column("Worker", ".status.workerName"),
        Column("Agent", ".status.agentState"),
        Column("Succeeded", _condition("Succeeded", "status")),
        Column("Reason", _condition("Succeeded", "reason")),
        Column(
            "Cost",
            ".status.transcript.costUSD",
            "number",
            priority=1,
            description="What the agent's session cost in US dollars (kubectl get -o wide).",
        ),
        AGE,
    ),
)

KINDS: tuple[Kind, ...] = (WORKER_POOL, WORKER, AGENT_TASK)
