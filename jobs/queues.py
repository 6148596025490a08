"""Enqueue jobs once the transaction that asked for them commits; run inline without Redis."""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, current_app
from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.utils import as_text
from sqlalchemy import event
from sqlalchemy.orm import Session

from models.infra.after_commit import PENDING, plan

log = logging.getLogger("pistil.jobs")
# A job in one of these states will run by itself; any other (or none) means it is lost.
ALIVE = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


@dataclass
class PlannedJob:
    """A job waiting for its transaction to commit."""

    func: Callable[..., object]
    args: tuple = ()
    job_id: str | None = None
    queue: str = "default"
    kwargs: dict = field(default_factory=dict)
    # Without Redis: run it in a thread, not inline (work that must not hold the request up).
    background: bool = False


def redis_connection() -> Redis | None:
    """Return the app's Redis connection, or None in the embedded mode."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    cached = current_app.extensions.get("pistil.redis")
    if cached is None or cached[0] != url:
        # Fail fast when Redis is unreachable or hangs: a sale must not wait on it. (An RQ
        # worker raises the read timeout to what its blocking dequeue needs.)
        cached = (url, Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5))
        current_app.extensions["pistil.redis"] = cached
    return cached[1]


def queue(name: str = "default") -> Queue:
    """Return an RQ queue on the app's Redis."""
    return Queue(name, connection=redis_connection())


def enqueue_after_commit(
    func,
    *args,
    job_id: str | None = None,
    queue_name: str = "default",
    background: bool = False,
    **kwargs,
) -> None:
    """Run `func` once the current transaction commits; drop it if the transaction rolls back."""
    plan(PlannedJob(func, args, job_id, queue_name, kwargs, background=background))


# The job each kind of work models/ asks for (models.infra.after_commit) becomes: filled by jobs/.
_CARRIERS: dict[str, Callable[[int], PlannedJob]] = {}


def carries(kind: str):
    """Register the function that plans the job for one kind of after-commit work."""

    def register(planner: Callable[[int], PlannedJob]) -> Callable[[int], PlannedJob]:
        _CARRIERS[kind] = planner
        return planner

    return register


def planned_job(item: PlannedJob | tuple[str, int]) -> PlannedJob | None:
    """Return the job for an item of after-commit work, or None (logged) when none carries it."""
    if isinstance(item, PlannedJob):
        return item
    kind, row_id = item
    carrier = _CARRIERS.get(kind)
    if carrier is None:
        # Its row stays pending: the relay finds it once a process that carries it runs.
        log.error("no job carries after-commit work %r (row %s)", kind, row_id)
        return None
    return carrier(row_id)


def dispatch(job: PlannedJob) -> None:
    """Send a job to its RQ queue, or run it now (or in a thread) when there is no Redis."""
    connection = redis_connection()
    if connection is None:
        if job.background:
            start_in_background(job.func, *job.args, **job.kwargs)
        else:
            job.func(*job.args, **job.kwargs)
        return
    # No RQ retry: each job is backed by a row (report, mail) whose own backoff and relay decide
    # when it goes again; a second retry policy would send on its own clock.
    Queue(job.queue, connection=connection).enqueue(
        job.func, *job.args, job_id=job.job_id, **job.kwargs
    )


def job_name(job: PlannedJob) -> str:
    """Name a planned job for the logs by its function and id, never by its arguments."""
    return f"{getattr(job.func, '__name__', job.func)} ({job.job_id or 'no id'})"


def dispatch_after_commit(job: PlannedJob) -> None:
    """Dispatch a job whose transaction committed; a failure is logged, never raised."""
    # The request already committed its sale or order: answering 500 now would tell the
    # budtender it failed. Every job is backed by a row the relay re-sends from.
    try:
        dispatch(job)
    except Exception as error:  # noqa: BLE001 - see above
        log.warning(
            "job %s not started after commit (%s); the relay sends it later",
            job_name(job),
            type(error).__name__,
            exc_info=redis_connection() is None,
        )


def job_alive(job_id: str) -> bool:
    """Return whether RQ still holds a job of this id that will run."""
    try:
        job = Job.fetch(job_id, connection=redis_connection())
    except NoSuchJobError:
        return False
    return job.get_status(refresh=True) in ALIVE


def forget_job(job_id: str) -> None:
    """Delete a finished, failed or orphaned job (its worker killed) so its id can be reused."""
    connection = redis_connection()
    if connection is None:
        return
    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return
    # RQ 3 keeps a killed worker's execution listed on the job for a minute after the
    # execution's own record expired; deleting the job then fails "Execution ... not found".
    registry = job.execution_registry
    for raw in connection.zrange(registry.key, 0, -1):
        execution_id = as_text(raw) if isinstance(raw, bytes | str) else str(raw)
        execution = Execution(id=execution_id, job_id=job_id, connection=connection)
        if not connection.exists(execution.key):
            connection.zrem(registry.key, execution.id)
            connection.zrem(job.started_job_registry.key, execution.composite_key)
    job.delete()


def enqueue_once(queue_name: str, func, *args, job_id: str, **kwargs) -> bool:
    """Enqueue a job unless one of this id is waiting to run; return whether it was enqueued."""
    if job_alive(job_id):
        return False
    forget_job(job_id)
    queue(queue_name).enqueue(func, *args, job_id=job_id, **kwargs)
    return True


# Threads the embedded mode (no Redis) started for work that must not hold a request up.
_background: list[threading.Thread] = []


def start_in_background(func, *args, **kwargs) -> None:
    """Run `func` in a thread inside this app (the embedded mode's stand-in for a worker)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy

    def run() -> None:
        with app.app_context():
            func(*args, **kwargs)

    thread = threading.Thread(target=run, daemon=True)
    _background.append(thread)
    thread.start()


def wait_for_background(timeout: float = 30.0) -> None:
    """Wait for the threads the embedded mode started to finish."""
    while _background:
        _background.pop().join(timeout)


_hooked = False


def init_jobs(app: Flask) -> None:
    """Hook the after-commit dispatch into sessions, once per process (the hook is global)."""
    global _hooked
    if _hooked:
        return
    _hooked = True

    @event.listens_for(Session, "after_commit")
    def _after_commit(session):
        for item in session.info.pop(PENDING, []):
            job = planned_job(item)
            if job is not None:
                dispatch_after_commit(job)

    @event.listens_for(Session, "after_soft_rollback")
    def _after_rollback(session, previous_transaction):
        # Fires on every rollback() call, even when no database transaction had begun yet.
        if previous_transaction.parent is None:
            session.info.pop(PENDING, None)
