"""Enqueue jobs once the transaction that asked for them commits; run inline without Redis."""

from dataclasses import dataclass, field

from flask import Flask, current_app
from redis import Redis
from rq import Queue, Retry
from sqlalchemy import event
from sqlalchemy.orm import Session

from extensions import db

_PENDING = "pistil.after_commit"


@dataclass
class PlannedJob:
    """A job waiting for its transaction to commit."""

    func: object
    args: tuple = ()
    job_id: str | None = None
    queue: str = "default"
    kwargs: dict = field(default_factory=dict)


def redis_connection() -> Redis | None:
    """Return the app's Redis connection, or None in the embedded mode."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    connection = current_app.extensions.get("pistil.redis")
    if connection is None:
        connection = Redis.from_url(url)
        current_app.extensions["pistil.redis"] = connection
    return connection


def queue(name: str = "default") -> Queue:
    """Return an RQ queue on the app's Redis."""
    return Queue(name, connection=redis_connection())


def enqueue_after_commit(
    func, *args, job_id: str | None = None, queue_name: str = "default", **kwargs
) -> None:
    """Run `func` once the current transaction commits; drop it if the transaction rolls back."""
    if db.session().get_transaction() is None:
        # Without a transaction a rollback emits no event and would leave the job behind.
        db.session.begin()
    db.session.info.setdefault(_PENDING, []).append(
        PlannedJob(func=func, args=args, job_id=job_id, queue=queue_name, kwargs=kwargs)
    )


def dispatch(job: PlannedJob) -> None:
    """Send a job to its RQ queue, or run it now when there is no Redis."""
    connection = redis_connection()
    if connection is None:
        job.func(*job.args, **job.kwargs)
        return
    Queue(job.queue, connection=connection).enqueue(
        job.func,
        *job.args,
        job_id=job.job_id,
        retry=Retry(max=3, interval=[10, 60, 300]),
        **job.kwargs,
    )


_hooked = False


def init_jobs(app: Flask) -> None:
    """Hook the after-commit dispatch into sessions, once per process (the hook is global)."""
    global _hooked
    if _hooked:
        return
    _hooked = True

    @event.listens_for(Session, "after_commit")
    def _after_commit(session):
        planned = session.info.pop(_PENDING, [])
        for job in planned:
            dispatch(job)

    @event.listens_for(Session, "after_soft_rollback")
    def _after_rollback(session, previous_transaction):
        # Fires on every rollback() call, even when no database transaction had begun yet.
        if previous_transaction.parent is None:
            session.info.pop(_PENDING, None)
