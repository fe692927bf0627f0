"""Pydantic models of the three kinds: the single source of the CRDs in `crds/`.

Purely declarative: no I/O, no kopf. `models.crds` turns them into structural CRD YAML.
"""

from sprite_orchestrator.models.common import Condition, ConditionStatus, ObjectRef, SecretKeyRef
from sprite_orchestrator.models.pool import WorkerPoolSpec, WorkerPoolStatus
from sprite_orchestrator.models.task import AgentTaskSpec, AgentTaskStatus
from sprite_orchestrator.models.worker import WorkerSpec, WorkerStatus

__all__ = [
    "AgentTaskSpec",
    "AgentTaskStatus",
    "Condition",
    "ConditionStatus",
    "ObjectRef",
    "SecretKeyRef",
    "WorkerPoolSpec",
    "WorkerPoolStatus",
    "WorkerSpec",
    "WorkerStatus",
]
