"""Bad specs are refused with a message that names the field."""

from __future__ import annotations

import pydantic
import pytest

from sprite_orchestrator.models import AgentTaskSpec, WorkerPoolSpec


def _error_fields(exc: pydantic.ValidationError) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in exc.errors()}


def test_a_minimal_pool_gets_the_documented_defaults() -> None:
    spec = WorkerPoolSpec.model_validate({"repo": {"url": "/srv/kite"}})
    assert spec.provider.type == "Local"
    assert spec.agent.command == ["claude"]
    assert spec.agent.permission_mode == "acceptEdits"
    assert (spec.scaling.min_idle, spec.scaling.max_workers) == (1, 5)
    assert spec.scaling.idle_timeout_seconds == 1800
    assert spec.poll_interval_seconds == 5
    assert spec.snapshot.interval_seconds == 1800
    assert spec.repo.setup_script == "scripts/dev-setup.sh"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"repo": {"url": ""}}, "repo.url"),
        ({"repo": {"url": "x"}, "scaling": {"maxWorkers": 0}}, "scaling.maxWorkers"),
        ({"repo": {"url": "x"}, "scaling": {"maxWorker": 3}}, "scaling.maxWorker"),
        ({"repo": {"url": "x"}, "agent": {"permissionMode": "yolo"}}, "agent.permissionMode"),
        ({"repo": {"url": "x"}, "agent": {"command": []}}, "agent.command"),
        ({"repo": {"url": "x"}, "agent": {"env": [{"name": "1X"}]}}, "agent.env.0.name"),
        ({"repo": {"url": "x"}, "pollIntervalSeconds": 0}, "pollIntervalSeconds"),
    ],
)
def test_pool_errors_name_the_field(spec: dict, field: str) -> None:
    with pytest.raises(pydantic.ValidationError) as exc:
        WorkerPoolSpec.model_validate(spec)
    assert field in _error_fields(exc.value)


def test_provider_member_must_match_its_type() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"provider.ssh is missing"):
        WorkerPoolSpec.model_validate({"repo": {"url": "x"}, "provider": {"type": "SSH"}})
    with pytest.raises(pydantic.ValidationError, match=r"but sprites is set too"):
        WorkerPoolSpec.model_validate(
            {"repo": {"url": "x"}, "provider": {"sprites": {"tokenSecretRef": {"name": "fly"}}}}
        )


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"pool": "Kite"}, "pool"),
        ({"pool": "kite", "timeoutSeconds": 0}, "timeoutSeconds"),
        ({"pool": "kite", "retries": -1}, "retries"),
        ({"pool": "kite", "promptFrom": {}}, "promptFrom"),
        ({"pool": "kite", "prompt": "x" * 1_000_001}, "prompt"),
    ],
)
def test_task_errors_name_the_field(spec: dict, field: str) -> None:
    with pytest.raises(pydantic.ValidationError) as exc:
        AgentTaskSpec.model_validate(spec)
    assert field in _error_fields(exc.value)
