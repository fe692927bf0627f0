"""The live view's lines for the endings a terminal test does not reach."""

from __future__ import annotations

from sprite_orchestrator.cli import live


def cond(type_: str, status: str, reason: str, message: str = "") -> dict:
    return {"type": type_, "status": status, "reason": reason, "message": message}


def lines(status: dict, workers: list[dict] | None = None) -> list[tuple[str, str, str]]:
    task = {"metadata": {"name": "kite-a"}, "status": status}
    return [(p.mark, p.name, p.detail) for p in live.phases(task, workers or [])]


def test_a_task_that_timed_out_waiting_shows_why_it_never_ran() -> None:
    shown = lines(
        {
            "conditions": [
                cond("Scheduled", "False", "TimedOut", "not done within timeoutSeconds=5"),
                cond("Succeeded", "False", "TimedOut", "not done within timeoutSeconds=5"),
            ]
        }
    )
    assert shown[0] == (live.FAILED, "Scheduled", "TimedOut: not done within timeoutSeconds=5")
    assert shown[-1] == (live.FAILED, "Succeeded", "TimedOut: not done within timeoutSeconds=5")


def test_an_agent_error_marks_the_agent_and_the_outcome() -> None:
    shown = lines(
        {
            "workerName": "kite-1",
            "agentState": "agent:error",
            "conditions": [
                cond("Scheduled", "True", "Scheduled", "bound to worker kite-1"),
                cond("Delivered", "True", "PromptDelivered", "prompt delivered to kite-1"),
                cond("Succeeded", "False", "AgentError", "rate_limit"),
            ],
        }
    )
    assert (live.FAILED, "Agent", "agent:error") in shown
    assert shown[-1] == (live.FAILED, "Succeeded", "AgentError: rate_limit")


def test_a_waiting_task_names_the_workers_that_fail_to_provision() -> None:
    worker = {
        "metadata": {"name": "kite-1"},
        "status": {
            "conditions": [cond("Provisioned", "False", "SecretNotFound", "no Secret claude-auth")]
        },
    }
    shown = lines(
        {"conditions": [cond("Scheduled", "False", "WorkersFailing", "position 1 of 1")]},
        [worker],
    )
    assert shown[0] == (live.WAITING, "Scheduled", "waiting (WorkersFailing): position 1 of 1")
    assert (live.FAILED, "Provisioning", "kite-1: SecretNotFound: no Secret claude-auth") in shown


def test_a_worker_being_provisioned_shows_the_step_under_way() -> None:
    step = "provisioning step 2 of 5, clone: cloning the repo into ~/kite"
    worker = {
        "metadata": {"name": "kite-1"},
        "status": {"conditions": [cond("Provisioned", "Unknown", "Provisioning", step)]},
    }
    shown = lines(
        {"conditions": [cond("Scheduled", "False", "WaitingForWorker", "position 1 of 1")]},
        [worker],
    )
    assert (live.WORKING, "Provisioning", f"kite-1: {step}") in shown
