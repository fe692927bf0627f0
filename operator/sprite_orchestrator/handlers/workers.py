"""Worker reconciliation: provision the machine, deliver the bound task, poll the agent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import pydantic

from sprite_orchestrator.core import conditions as c
from sprite_orchestrator.core import deadlines, naming, readings
from sprite_orchestrator.core import tasks as task_states
from sprite_orchestrator.failpoints import failpoint
from sprite_orchestrator.handlers import events, inputs, transcripts
from sprite_orchestrator.handlers import status as st
from sprite_orchestrator.handlers.objects import (
    POOLS,
    RESET,
    TASKS,
    WORKER_RESET,
    WORKERS,
    annotation,
    is_deleting,
    is_finished,
    stop_reason,
    task_status,
)
from sprite_orchestrator.handlers.runtime import Runtime, iso, parse_iso
from sprite_orchestrator.kube import Body, NotFound
from sprite_orchestrator.models import (
    AgentTaskSpec,
    AgentTaskStatus,
    ConditionStatus,
    WorkerPoolSpec,
    WorkerSpec,
    WorkerStatus,
)
from sprite_orchestrator.models.pool import ProviderSpec, RepoSpec
from sprite_orchestrator.providers.base import MachineNotFound, Provider, ProviderError
from sprite_orchestrator.worker import delivery, polling, provisioning, snapshot
from sprite_orchestrator.worker.remote import WorkerError

logger = logging.getLogger(__name__)

RETRY_DELIVERY = ("AgentNotReady", "PromptCorrupted")  # nothing was claimed: try again
WORK_NOT_SAVED = "WorkNotSaved"  # the Worker's Ready reason while its machine is kept for it
HEARTBEAT = 30.0  # lastPollTime is refreshed at least this often, not on every poll
# Machine ids (Worker.status.machine) that are not on the operator's host.
REMOTE_MACHINES = ("ssh://", "sprite://")


async def reconcile(rt: Runtime, namespace: str, name: str) -> float:
    """One pass over a worker; returns the seconds until the next unprompted pass."""
    worker = rt.workers.get(namespace, name) or await rt.kube.get(WORKERS, namespace, name)
    if is_deleting(worker):
        return 3600.0
    pool_name = worker["spec"]["pool"]
    try:
        pool = rt.pools.get((namespace, pool_name)) or await rt.kube.get(
            POOLS, namespace, pool_name
        )
        spec = WorkerPoolSpec.model_validate(pool["spec"])
    except NotFound:
        await rt.kube.delete(WORKERS, namespace, name)  # an orphan: its pool is gone
        return 3600.0
    except pydantic.ValidationError:
        return 60.0
    w = _Worker(rt, namespace, name, pool_name, spec)
    return await w.reconcile(worker)


class MachineKept(Exception):
    """A deleted Worker's machine cannot be destroyed (yet): the Worker stays, and says why."""


class WorkNotSaved(MachineKept):
    """A bound task's work could not be saved and its machine is still there: the machine is
    kept (not destroyed, not reset) and saving is retried with backoff."""


class _Worker:
    """One reconciliation of one worker: the names and handles it needs, once."""

    def __init__(
        self, rt: Runtime, namespace: str, name: str, pool: str, spec: WorkerPoolSpec
    ) -> None:
        self.rt, self.namespace, self.name, self.pool, self.spec = rt, namespace, name, pool, spec
        self.session = naming.session_name(pool)
        self.key = (WORKERS, namespace, name)
        # Provisioning backs off per pool: a replacement of a worker that kept failing
        # starts where its predecessor's backoff was, so replacing never loops hot.
        self.provisioning_key = ("provisioning", namespace, pool)
        self.started = 0.0  # loop time when provisioning began
        # The Worker as this pass last read or wrote it: its status writes start from it.
        self.known: Body | None = None
        self.released = False  # this pass freed the worker of its task

    @property
    def provider(self) -> Provider:
        return self.rt.provider_for(self.namespace, self.pool, self.spec)

    async def reconcile(self, worker: Body) -> float:
        self.known = worker
        status = st.load(WorkerStatus, worker)
        try:
            if annotation(worker, RESET) is not None:
                try:
                    await self._reset(worker, status)
                except WorkNotSaved:
                    return self.rt.backoff(self.key)
                return 0.0
            provisioned = c.is_true(status.conditions, c.PROVISIONED)
            if not provisioned:
                waiting = self.rt.backing_off(self.provisioning_key)
                if waiting > 0:
                    return waiting
                if not await self._provision(worker):
                    return self.rt.backing_off(self.provisioning_key)
            reading = await self._poll()
        except MachineNotFound as exc:
            if status.task_ref is not None:
                await self._machine_lost(status.task_ref.name, status.task_ref.uid, str(exc))
                return 3600.0  # deleted: a new worker replaces it
            await self._set_provisioned("False", "MachineLost", str(exc))
            return self.rt.backoff(self.key)
        except ProviderError as exc:
            await self._set_provisioned("False", exc.reason, str(exc))
            return self.rt.backoff(self.key)
        except WorkerError as exc:
            await self._observe(readings.Reading(None, error=exc.reason, detail=str(exc)))
            return self.rt.backoff(self.key)
        self.rt.succeeded(self.key)
        if status.task_ref is not None:
            await self._serve(status, reading)
        elif readings.agent_gone(reading):
            await self._revive(reading)
        await self._observe(reading)
        if self.released:  # poll the fresh agent now: the worker is offered a poll sooner
            return 0.0
        return float(self.spec.poll_interval_seconds)

    async def _reset(self, worker: Body, status: WorkerStatus) -> None:
        """`orchestrator reset`: a bound task stops (work saved), the machine is made anew.

        Each step is idempotent; the request is removed last, so a crash repeats the steps.
        """
        message = "reset requested (orchestrator reset): the machine is re-provisioned"
        if status.task_ref is not None:
            await self._stop_for_reset(status.task_ref.name)
        await self.provider.destroy(self.name)
        await self._set_provisioned("False", WORKER_RESET, message)
        events.info(worker, reason=WORKER_RESET, message=message)
        patch = {"metadata": {"annotations": {RESET: None}}}
        self.rt.kept_worker(await self.rt.kube.patch(WORKERS, self.namespace, self.name, patch))

    async def _stop_for_reset(self, name: str) -> None:
        """The bound task ends WorkerReset; its work is saved unless the machine is gone."""
        try:
            task = await self.rt.kube.get(TASKS, self.namespace, name)
        except NotFound:
            return
        if is_finished(task):
            return
        if not await self.save_before_losing(name):
            message = f"worker {self.name} was reset; its machine was gone, nothing was saved"
            body = await self._transition(name, task_states.failed, WORKER_RESET, message)
            events.warn(body, reason=WORKER_RESET, message=message)
            return
        message = f"worker {self.name} was reset (orchestrator reset); its work was saved"
        try:
            await self._stop(task, WORKER_RESET, message)
        except (WorkerError, ProviderError) as exc:  # saved above: stopping the agent failed
            message = f"{message}; stopping its agent failed: {exc}"
            body = await self._transition(name, task_states.failed, WORKER_RESET, message)
            events.warn(body, reason=WORKER_RESET, message=message)

    async def save_before_losing(self, task: str) -> bool:
        """Save the work before the machine is destroyed or reset: True once saved, False if
        the machine, or its repo, is gone (nothing is left to save). Any other failure keeps
        the machine: the Worker says so (Ready=False, WorkNotSaved, and an event) and
        WorkNotSaved is raised, so the caller retries with backoff rather than lose the work."""
        try:
            await self._save(task)
        except (WorkerError, ProviderError) as exc:
            if isinstance(exc, MachineNotFound | snapshot.NoRepo) or not await self._exists():
                logger.warning(f"work of {task} on {self.name} not saved, nothing left: {exc}")
                return False
            message = (
                f"the work of task {task} could not be saved; the machine is kept and saving "
                f"is retried: {exc}"
            )
            body = await self._set_ready("False", WORK_NOT_SAVED, message)
            events.warn(body, reason=WORK_NOT_SAVED, message=message)
            raise WorkNotSaved(message) from exc
        return True

    async def _exists(self) -> bool:
        """The machine is still there (the provider lists it); unknown counts as there."""
        try:
            return any(m.name == self.name for m in await self.provider.list())
        except ProviderError:
            return True

    async def _set_ready(self, value: ConditionStatus, reason: str, message: str) -> Body:
        return await self._update(_ready_change(self.rt, value, reason, message))

    async def _update(self, change: Callable[[Body, WorkerStatus], WorkerStatus]) -> Body:
        """Write the Worker's status, starting from the Worker as this pass knows it."""
        body, _ = await st.update(
            self.rt.kube, WORKERS, self.namespace, self.name, WorkerStatus, change, body=self.known
        )
        self.known = body
        self.rt.kept_worker(body)
        return body

    async def _revive(self, reading: readings.Reading) -> None:
        """A worker whose agent or session is gone, with no prompt delivered, gets a new one.

        A lost session (a cold sprite, a rebooted host) is provisioned again, the task it
        holds kept: the steps are idempotent, so the repo and any work in it stay.
        """
        if reading.source == "session":
            await self._set_provisioned("False", "SessionLost", reading.detail)
            return
        await delivery.restart_agent(self.provider, self.name, session=self.session)

    # -- provisioning --------------------------------------------------------------------

    async def _provision(self, worker: Body) -> bool:
        self.started = asyncio.get_running_loop().time()
        deadline = self.spec.provisioning.timeout_seconds
        try:
            machine = await self.provider.create(self.name)
            failpoint("after-create")  # the machine exists; the Worker does not say so yet
            await self._set_provisioned(
                "Unknown", "Provisioning", "provisioning the machine", machine=machine.id
            )
            plan = await inputs.provision_plan(self.rt.kube, self.namespace, self.pool, self.spec)
            async with asyncio.timeout(deadline):
                result = await provisioning.provision(
                    self.provider, self.name, plan, on_step=self._provisioning_step
                )
        except inputs.InvalidInput as exc:
            return await self._provision_failed(worker, exc.reason, str(exc))
        except provisioning.ProvisioningFailed as exc:
            message = f"{exc}; last output:\n{exc.tail}"
            return await self._provision_failed(worker, exc.reason, message)
        except TimeoutError:
            message = f"provisioning took longer than {deadline}s (provisioning.timeoutSeconds)"
            return await self._provision_failed(worker, "ProvisioningTimedOut", message)
        except ProviderError as exc:
            if exc.transient:
                return await self._provision_waits(worker, exc)
            return await self._provision_failed(worker, exc.reason, str(exc))
        except WorkerError as exc:
            return await self._provision_failed(worker, exc.reason, str(exc))
        message = f"provisioned: {result.summary}"
        self._count_provisioning("succeeded")
        await self._set_provisioned("True", "Provisioned", message)
        self.rt.succeeded(self.provisioning_key)
        events.info(worker, reason="Provisioned", message=f"{self.name} is provisioned")
        return True

    async def _provisioning_step(self, message: str) -> None:
        """The step under way, for `kubectl get wk` and the live view of `dispatch --wait`."""
        await self._set_provisioned("Unknown", "Provisioning", message)

    def _count_provisioning(self, result: str) -> None:
        elapsed = asyncio.get_running_loop().time() - self.started
        self.rt.metrics.provisioned(self.namespace, self.pool, elapsed, result=result)

    async def _provision_waits(self, worker: Body, exc: ProviderError) -> bool:
        """A provider's limit or an unreachable host: wait and retry, counting no failure.

        A replacement would meet the same limit, so the worker is never replaced for it.
        The API's retry-after, if it gave one, is the wait; otherwise the usual backoff.
        """
        self._count_provisioning("failed")
        if exc.retry_after is not None:
            delay = self.rt.hold_off(self.provisioning_key, exc.retry_after)
        else:
            delay = self.rt.backoff(self.provisioning_key)
        message = (
            f"waiting for the provider, retrying in {delay:.0f}s (not counted toward "
            f"provisioning.maxFailures): {exc}"
        )
        await self._set_provisioned("False", exc.reason, message)
        events.warn(worker, reason=exc.reason, message=message)
        return False

    async def _provision_failed(self, worker: Body, reason: str, message: str) -> bool:
        """Say why, and back off; after provisioning.maxFailures in a row, replace the worker."""
        self.rt.backoff(self.provisioning_key)
        self._count_provisioning("failed")
        failures = st.load(WorkerStatus, worker).provision_failures + 1
        limit = self.spec.provisioning.max_failures
        replace = failures >= limit
        note = f"attempt {failures} of {limit} failed"
        note += ", the worker is replaced" if replace else ", retrying with backoff"
        message = f"{note}: {message}"
        await self._set_provisioned("False", reason, message, failures=failures)
        events.warn(worker, reason=reason, message=message)
        if replace:
            events.warn(worker, reason="WorkerReplaced", message=message)
            await self.rt.kube.delete(WORKERS, self.namespace, self.name)
        return False

    async def _set_provisioned(
        self,
        value: ConditionStatus,
        reason: str,
        message: str,
        *,
        machine: str | None = None,
        failures: int | None = None,
    ) -> Body:
        """Set Provisioned (and Ready, unless True); returns the Worker as written."""

        def change(_: Body, s: WorkerStatus) -> WorkerStatus:
            conditions = c.upsert(
                s.conditions,
                c.PROVISIONED,
                value,
                reason=reason,
                message=message,
                generation=None,
                now=self.rt.stamp(),
            )
            if value != "True":
                conditions = c.upsert(
                    conditions,
                    c.READY,
                    "False",
                    reason=reason,
                    message=message,
                    generation=None,
                    now=self.rt.stamp(),
                )
            update: dict[str, object] = {"conditions": conditions}
            if machine is not None:
                update["machine"] = machine
            if failures is not None or value == "True":
                update["provision_failures"] = failures or 0
            return s.model_copy(update=update)

        return await self._update(change)

    # -- polling ---------------------------------------------------------------------------

    async def _poll(self) -> readings.Reading:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            obs = await polling.poll(self.provider, self.name, session=self.session)
        except (WorkerError, ProviderError) as exc:
            self.rt.metrics.poll_error(self.namespace, self.pool, exc.reason)
            raise
        finally:
            self.rt.metrics.polled(self.namespace, self.pool, loop.time() - started)
        hook = obs.status
        return readings.read(
            session_exists=obs.session,
            window_name=obs.windows.get(1),
            pane_dead=obs.pane_dead or (obs.pane_id is not None and not obs.agent_alive),
            pane_dead_status=obs.pane_dead_status,
            needs_input=hook is not None and hook.needs_input,
            error=hook.error if hook is not None else None,
            hook_state=hook.state if hook is not None else None,
            prior_state=hook.prior_state if hook is not None else None,
            activity=obs.activity,
            activity_age=obs.activity_age,
            hook_age=max(0, obs.now - hook.time) if hook is not None and hook.time else None,
        )

    async def _observe(self, reading: readings.Reading) -> None:
        def change(_: Body, s: WorkerStatus) -> WorkerStatus:
            return _observed(s, reading, self.rt.now())

        await self._update(change)

    # -- the bound task ----------------------------------------------------------------------

    async def _serve(self, status: WorkerStatus, reading: readings.Reading) -> None:
        ref = status.task_ref
        assert ref is not None
        task = self.rt.tasks.get(self.namespace, ref.name)  # as its watch delivered it
        if task is None or task["metadata"].get("uid") != ref.uid:
            try:
                task = await self.rt.kube.get(TASKS, self.namespace, ref.name)
            except NotFound:
                task = None
        if task is None or task["metadata"].get("uid") != ref.uid or is_finished(task):
            await self._release(ref.name)
            return
        stop = stop_reason(task, now=self.rt.now())
        if stop is not None:
            await self._stop(task, *stop)
        elif not task_states.is_delivered(task_status(task)):
            await self._deliver(task, reading)  # a lost session is provisioned again first
        elif reading.source == "session":
            await self._lost(task, reading.detail)
        else:
            await self._follow(task, reading)

    async def _stop(self, task: Body, reason: str, message: str) -> None:
        """Stop the agent, save the work, end the task with the reason."""
        name = task["metadata"]["name"]
        await self._release(name)  # saves the work before anything is reset
        with contextlib.suppress(NotFound):
            body = await self._transition(name, task_states.failed, reason, message)
            events.warn(body, reason=reason, message=message)

    async def _machine_lost(self, task_name: str, uid: str | None, detail: str) -> None:
        """The machine is gone under a bound task: the task as on any loss, a new worker."""
        with contextlib.suppress(NotFound):
            task = await self.rt.kube.get(TASKS, self.namespace, task_name)
            if task["metadata"].get("uid") == uid and not is_finished(task):
                await self._lost(task, detail)
                return
        await self._set_provisioned("False", "MachineLost", detail)
        await self.rt.kube.delete(WORKERS, self.namespace, self.name)

    async def _lost(self, task: Body, detail: str) -> None:
        """The worker's tmux server or machine is gone under a task: retry or fail, replace it."""
        name = task["metadata"]["name"]
        status = task_status(task)
        retries = int((task.get("spec") or {}).get("retries") or 0)
        message = f"worker {self.name} was lost: {detail}"
        if not task_states.is_delivered(status) and status.attempts <= retries:
            retry = f"{message}; retrying (attempt {status.attempts + 1} of {retries + 1})"
            body = await self._transition(name, task_states.requeued, retry)
            events.warn(body, reason=task_states.REQUEUED, message=retry)
        else:
            body = await self._transition(
                name, task_states.failed, task_states.WORKER_LOST, message
            )
            events.warn(body, reason=task_states.WORKER_LOST, message=message)
        worker = await self._set_provisioned("False", task_states.WORKER_LOST, message)
        events.warn(worker, reason=task_states.WORKER_LOST, message=f"{message}; replaced")
        await self.rt.kube.delete(WORKERS, self.namespace, self.name)  # a new one replaces it

    async def _deliver(self, task: Body, reading: readings.Reading) -> None:
        if readings.agent_gone(reading):
            await self._revive(reading)  # nothing was delivered: a new agent takes it
            return
        if reading.state is None:  # running etc.: took a paste whose record a crash lost
            return  # the agent is still starting; the next poll tries again
        task_name = task["metadata"]["name"]
        try:  # the task itself: the kept one has no prompt
            task = await self.rt.kube.get(TASKS, self.namespace, task_name)
        except NotFound:
            return
        try:
            text = await inputs.prompt(
                self.rt.kube, self.namespace, AgentTaskSpec.model_validate(task["spec"])
            )
        except (inputs.InvalidInput, pydantic.ValidationError) as exc:
            message = str(exc)
            await self._transition(task_name, task_states.failed, task_states.INVALID_SPEC, message)
            await self._release(task_name)
            return
        marker = naming.delivery_marker(task_name, task["metadata"].get("uid", ""))
        failpoint("before-paste")
        try:
            done = await delivery.deliver(
                self.provider, self.name, session=self.session, marker=marker, prompt=text
            )
        except delivery.DeliveryFailed as exc:
            await self._delivery_failed(task_name, exc)
            return
        failpoint("after-paste")
        if not done.confirmed:
            await self._delivery_failed(
                task_name,
                delivery.DeliveryFailed(
                    "an earlier delivery claimed this task but recorded no paste; it is not "
                    "pasted again (exactly once)",
                    reason="DeliveryUnconfirmed",
                ),
            )
            return
        body = await self._transition(
            task_name, task_states.delivered, self.name, done.sha256, done.session_id
        )
        failpoint("after-delivered")
        created = parse_iso(task["metadata"].get("creationTimestamp"))
        if done.pasted and created is not None:
            self.rt.metrics.dispatched(self.namespace, self.pool, self.rt.now() - created)
        events.info(
            body,
            reason="PromptDelivered",
            message=f"{done.bytes_len} bytes delivered to {self.name} (sha256 {done.sha256[:12]})",
        )

    async def _snapshot_if_due(self, task: str, status: AgentTaskStatus) -> None:
        """The seed's 30-minute commit rule, enforced while the agent works."""
        due = deadlines.snapshot_due(
            parse_iso(status.last_snapshot_time),
            parse_iso(status.delivered_time),
            self.spec.snapshot.interval_seconds,
            now=self.rt.now(),
        )
        if due:
            await self._save(task)

    async def _delivery_failed(self, task_name: str, exc: delivery.DeliveryFailed) -> None:
        """Not pasted: retry later unless the marker was claimed (then never again)."""
        if exc.reason in RETRY_DELIVERY:
            return
        message = f"the prompt could not be delivered: {exc}"
        body = await self._transition(task_name, task_states.failed, exc.reason, message)
        events.warn(body, reason=exc.reason, message=message)
        await self._release(task_name)

    async def _follow(self, task: Body, reading: readings.Reading) -> None:
        task_name = task["metadata"]["name"]
        since = None if reading.age is None else iso(self.rt.now() - reading.age)
        body = await self._transition(task_name, task_states.observed, reading, since, body=task)
        status = task_status(body)
        if not task_states.is_finished(status):
            await self._snapshot_if_due(task_name, status)
            poll = float(self.spec.poll_interval_seconds)
            if transcripts.due(status, poll_seconds=poll, now=self.rt.now()):
                await transcripts.refresh(self.rt, self.provider, self.namespace, self.name, body)
            return
        failpoint("after-finished")
        if c.is_true(status.conditions, c.SUCCEEDED):
            events.info(
                body, reason="AgentCompleted", message=f"the agent on {self.name} completed"
            )
        else:
            found = c.find(status.conditions, c.SUCCEEDED)
            events.warn(
                body,
                reason=found.reason if found else "AgentError",
                message=found.message if found else "the agent failed",
            )
        await self._release(task_name)

    async def _save(self, task: str, *, reset: bool = False) -> None:
        """Commit the work to wip/<task> (pushed where possible) and record it on the task."""
        saved = await snapshot.save(
            self.provider,
            self.name,
            repo_dir=naming.repo_dir(self.pool),
            branch=snapshot.branch_for(task),
            reset_to=self.spec.repo.ref,
            reset=reset,
        )
        with contextlib.suppress(NotFound):
            body = await self._transition(task, task_states.saved, saved.branch, saved.commit)
            if saved.changed:
                where = "pushed" if saved.pushed else "kept on the worker (push refused)"
                events.info(
                    body,
                    reason="WorkSaved",
                    message=f"{saved.branch} at {saved.commit[:12]}, {where}",
                )

    async def _transition(
        self,
        task: str,
        step: Callable[..., AgentTaskStatus],
        *args: Any,
        body: Body | None = None,
    ) -> Body:
        return await st.transition(self.rt, self.namespace, task, step, *args, body=body)

    async def _release(self, task: str) -> None:
        """Free the worker: the task's work saved, the repo reset, a fresh agent, no taskRef."""
        await self._save(task, reset=True)
        try:
            await delivery.restart_agent(self.provider, self.name, session=self.session)
        except delivery.DeliveryFailed as exc:  # no session (a cold sprite): make it again
            await self._set_provisioned("False", "SessionLost", str(exc))
        await transcripts.keep(self.rt, self.provider, self.namespace, self.name, task, ended=True)
        failpoint("after-agent-restart")

        def change(_: Body, s: WorkerStatus) -> WorkerStatus:
            conditions = c.upsert(
                s.conditions,
                c.BUSY,
                "False",
                reason="Idle",
                message="",
                generation=None,
                now=self.rt.stamp(),
            )
            return s.model_copy(
                update={
                    "task_ref": None,
                    "bound_time": None,
                    "idle_since_time": self.rt.stamp(),
                    "conditions": conditions,
                }
            )

        await self._update(change)
        self.released = True
        self.rt.wake(POOLS, self.namespace, self.pool)


def _observed(s: WorkerStatus, reading: readings.Reading, now_s: float) -> WorkerStatus:
    """The worker's status after one poll; the heartbeat moves only every HEARTBEAT s."""
    now = iso(now_s)
    busy = s.task_ref is not None
    conditions = c.upsert(
        s.conditions,
        c.BUSY,
        "True" if busy else "False",
        reason="TaskBound" if busy else "Idle",
        message=f"running task {s.task_ref.name}" if s.task_ref else "",
        generation=None,
        now=now,
    )
    ready: tuple[ConditionStatus, str, str]
    if busy:
        ready = ("False", "Busy", "bound to a task")
    elif reading.state == "agent:waiting":
        ready = ("True", "AgentWaiting", "idle: the agent waits for a task")
    elif reading.state == "agent:error" or reading.error:
        ready = ("False", reading.error or "AgentError", reading.detail)
    else:
        ready = ("False", "AgentNotReady", f"window 1 is {reading.state or 'not yet named'}")
    conditions = c.upsert(
        conditions,
        c.READY,
        ready[0],
        reason=ready[1],
        message=ready[2],
        generation=None,
        now=now,
    )
    changed = conditions != s.conditions or reading.state != s.agent_state
    last = parse_iso(s.last_poll_time)
    stale = last is None or now_s - last >= HEARTBEAT
    return s.model_copy(
        update={
            "agent_state": reading.state,
            "conditions": conditions,
            "last_poll_time": now if changed or stale else s.last_poll_time,
            "idle_since_time": None if busy else (s.idle_since_time or now),
        }
    )


async def destroy(rt: Runtime, namespace: str, body: Body) -> None:
    """Destroy the machine of a deleted Worker, saving a bound task's work first.

    Raises MachineKept, after saying why in the Worker's Ready condition, when the machine
    cannot be destroyed: a remote machine is never left behind silently, and one whose work
    cannot be saved (WorkNotSaved) stays until it is saved or the machine is gone.
    """
    name, pool = body["metadata"]["name"], body["spec"]["pool"]
    spec = await _spec_for_destroy(rt, namespace, body)
    if spec is None:
        machine = st.load(WorkerStatus, body).machine
        await _kept(
            rt,
            namespace,
            name,
            "MachineUnknown",
            f"pool {pool} is gone and this Worker does not record its provider, so its "
            f"machine {machine} cannot be destroyed: destroy it by hand, then remove the "
            "Worker's finalizer",
        )
        raise MachineKept(f"the machine of {name} cannot be found")
    try:
        await _destroy_machine(rt, namespace, name, pool, spec, body)
    except ProviderError as exc:
        message = f"the machine could not be destroyed yet, retrying: {exc}"
        await _kept(rt, namespace, name, exc.reason, message)
        raise MachineKept(message) from None
    rt.forget((WORKERS, namespace, name))


async def _destroy_machine(
    rt: Runtime, namespace: str, name: str, pool: str, spec: WorkerPoolSpec, body: Body
) -> None:
    ref = st.load(WorkerStatus, body).task_ref
    if ref is not None:
        worker = _Worker(rt, namespace, name, pool, spec)
        await transcripts.keep(rt, worker.provider, namespace, name, ref.name, ended=False)
        await worker.save_before_losing(ref.name)
    failpoint("before-destroy")  # the work saved, the machine not yet destroyed
    await rt.provider_for(namespace, pool, spec).destroy(name)


async def _spec_for_destroy(rt: Runtime, namespace: str, body: Body) -> WorkerPoolSpec | None:
    """The pool's spec; once the pool is gone, enough of it to reach the machine, or None.

    The provider comes from this process's cache (the pool's latest spec seen), else from the
    Worker's own record. Local is assumed only for a machine that is not remote.
    """
    pool = body["spec"]["pool"]
    try:
        pool_body = await rt.kube.get(POOLS, namespace, pool)
        return WorkerPoolSpec.model_validate(pool_body["spec"])
    except (NotFound, pydantic.ValidationError):
        pass
    kept = rt.providers.get((namespace, pool))
    recorded = WorkerSpec.model_validate(body["spec"]).provider
    provider = kept[0] if kept is not None else recorded
    if provider is None:
        machine = st.load(WorkerStatus, body).machine or ""
        if machine.startswith(REMOTE_MACHINES):
            return None
        provider = ProviderSpec()
    return WorkerPoolSpec(repo=RepoSpec(url="-"), provider=provider)


async def _kept(rt: Runtime, namespace: str, name: str, reason: str, message: str) -> None:
    """Say on the deleting Worker why its machine is still there."""
    with contextlib.suppress(NotFound):
        await set_ready(rt, namespace, name, "False", reason, message)


async def set_ready(
    rt: Runtime, namespace: str, name: str, value: ConditionStatus, reason: str, message: str
) -> Body:
    """Set a Worker's Ready condition alone; returns the Worker as written."""
    change = _ready_change(rt, value, reason, message)
    body, _ = await st.update(rt.kube, WORKERS, namespace, name, WorkerStatus, change)
    rt.kept_worker(body)
    return body


def _ready_change(
    rt: Runtime, value: ConditionStatus, reason: str, message: str
) -> Callable[[Body, WorkerStatus], WorkerStatus]:
    def change(_: Body, s: WorkerStatus) -> WorkerStatus:
        conditions = c.upsert(
            s.conditions,
            c.READY,
            value,
            reason=reason,
            message=message,
            generation=None,
            now=rt.stamp(),
        )
        return s.model_copy(update={"conditions": conditions})

    return change
