"""Periodic work, declared in one table and scheduled by RQ's cron (`rq.cron`).

Every minute: the relay (reports Redis lost), the mail relay, the hold release, each store's
nightly reconciliation once it is due (after 03:00 its time), and paging the managers of a store
whose reconciliation differences stay unsettled more than 24 hours.

`flask tracktrace cron` runs the scheduler, which enqueues each job for the workers. Every
enqueue has a deterministic id, its name and its tick (`cron-relay-1764680400`), taken in Redis
first: a second scheduler enqueues nothing for a tick already taken. Without Redis (or with
`--once`) the same table runs here, one job after another (`tick`).
"""

import logging
import time as wall
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from redis import Redis
from rq.cron import CronJob, CronScheduler
from rq.job import Job
from sqlalchemy import select

from extensions import db
from jobs.context import in_app_context
from jobs.holds import release_expired_holds
from jobs.mail import relay_mail
from jobs.reconcile import page_overdue_differences, reconcile
from jobs.relay import relay
from models.compliance.clock import clock
from models.compliance.outbox import ReconciliationRun
from models.stores.store import Store

log = logging.getLogger("pistil.cron")
# Each store reconciles its previous business day after this local time.
RECONCILE_AFTER = time(3, 0)
RETRY_FAILED_RECONCILIATION = timedelta(minutes=30)
# A reconciliation reads the state's pages: give it as long as a report job.
JOB_TIMEOUT = 600


def due_reconciliations(now: datetime) -> list[tuple[Store, date]]:
    """Return (store, business day) pairs whose nightly reconciliation has not run yet."""
    due = []
    for store in db.session.scalars(select(Store).where(Store.tracktrace_dry_run.is_(False))):
        local = now.astimezone(store.zone)
        if local.time() < RECONCILE_AFTER:
            continue
        day = local.date() - timedelta(days=1)
        runs = db.session.scalars(
            select(ReconciliationRun).where(
                ReconciliationRun.store_id == store.id, ReconciliationRun.business_date == day
            )
        ).all()
        if any(run.error is None and run.finished_at for run in runs):
            continue
        if any(run.started_at > now - RETRY_FAILED_RECONCILIATION for run in runs):
            continue
        due.append((store, day))
    return due


@in_app_context
def reconcile_due() -> list[tuple[str, str, str | int]]:
    """Reconcile every store whose previous business day is due; return what was found."""
    reconciled: list[tuple[str, str, str | int]] = []
    for store, day in due_reconciliations(clock.now()):
        run = reconcile(store, day)
        reconciled.append((store.code, day.isoformat(), run.error or run.differences))
        log.info("reconciled %s %s: %s", store.code, day, run.error or f"{run.differences} diffs")
    return reconciled


@in_app_context
def page_overdue() -> list[int]:
    """Page the managers of stores with differences open over 24 h; return the stores paged."""
    return page_overdue_differences(clock.now())


@dataclass(frozen=True)
class Periodic:
    """A job run every `interval` seconds, known by `name` in its ids and in `tick`'s answer."""

    name: str
    func: Callable[[], object]
    interval: int = 60
    queue: str = "default"


# Each job on its own: Redis gone or a state system down must not stop the hold release, the
# mail or the nightly reconciliation of another store.
PERIODIC = (
    Periodic("relay", relay),
    Periodic("mail", relay_mail),
    Periodic("holds", release_expired_holds),
    Periodic("reconciled", reconcile_due),
    # One cheap query a minute; each store is paged at most once a day (T12).
    Periodic("overdue", page_overdue),
)


class TickJob(CronJob):
    """A periodic job whose every enqueue has an id fixed by its name and tick, taken once."""

    def enqueue(self, connection: Redis) -> Job:
        """Enqueue this tick's job unless another scheduler already did; return it."""
        interval = self.interval or 60
        job_id = f"cron-{self.name}-{int(wall.time()) // interval * interval}"
        # SET NX is atomic: of two schedulers on the same tick exactly one wins.
        if not connection.set(f"pistil:{job_id}", 1, nx=True, ex=interval * 10):
            log.debug("cron: %s already enqueued by another scheduler", job_id)
            return Job(job_id, connection=connection)
        self.job_options["job_id"] = job_id
        try:
            return super().enqueue(connection)
        finally:
            del self.job_options["job_id"]


def scheduler(connection: Redis) -> CronScheduler:
    """Return RQ's cron scheduler with the periodic jobs declared."""
    cron = CronScheduler(connection=connection, logging_level=logging.WARNING)
    for job in PERIODIC:
        cron.get_jobs().append(
            TickJob(
                queue_name=job.queue,
                func=job.func,
                interval=job.interval,
                job_timeout=JOB_TIMEOUT,
                name=job.name,
            )
        )
    return cron


@in_app_context
def tick() -> dict[str, object]:
    """Run every periodic job here, now; return what each did (None for one that failed)."""
    done = {job.name: step(job) for job in PERIODIC}
    done["reconciled"] = done["reconciled"] or []
    return done


def step(job: Periodic) -> object:
    """Run one periodic job; log and carry on if it fails."""
    try:
        return job.func()
    except Exception:  # noqa: BLE001 - one failed job must not stop the others
        db.session.rollback()
        log.exception("cron: %s failed; the next tick tries again", job.name)
        return None
