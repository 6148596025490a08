"""Periodic work, run by `flask tracktrace cron`: the relay every minute, reconciliation nightly.

Each tick also pages the managers of a store whose reconciliation differences stay unsettled
more than 24 hours after they were found.

Running more than one cron process is harmless: the relay only enqueues jobs that are missing,
and a day already reconciled is not reconciled again.
"""

import logging
from datetime import datetime, time, timedelta

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


def due_reconciliations(now: datetime) -> list[tuple[Store, object]]:
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
def tick() -> dict:
    """Run what is due now; return what was done (None for a step that failed)."""
    # Each step on its own: Redis gone or a state system down must not stop the hold release,
    # the mail or the nightly reconciliation of another store.
    done = {
        "relay": step("relay", relay),
        "mail": step("mail relay", relay_mail),
        "holds": step("hold release", release_expired_holds),
        "reconciled": step("reconciliation", reconcile_due) or [],
    }
    # One cheap query a tick; each store is paged at most once a day (T12).
    done["overdue"] = step("overdue differences", lambda: page_overdue_differences(clock.now()))
    return done


def step(name: str, work):
    """Run one part of a tick; log and carry on if it fails."""
    try:
        return work()
    except Exception:  # noqa: BLE001 - one failed step must not stop the others
        db.session.rollback()
        log.exception("cron: %s failed; the next tick tries again", name)
        return None


def reconcile_due() -> list[tuple]:
    """Reconcile every store whose previous business day is due; return what was found."""
    reconciled = []
    for store, day in due_reconciliations(clock.now()):
        run = reconcile(store, day)
        reconciled.append((store.code, day.isoformat(), run.error or run.differences))
        log.info("reconciled %s %s: %s", store.code, day, run.error or f"{run.differences} diffs")
    return reconciled


def run_forever(interval: float = 60.0, ticks: int | None = None) -> None:
    """Tick every `interval` seconds (forever, or `ticks` times)."""
    count = 0
    while ticks is None or count < ticks:
        try:
            tick()
        except Exception:  # noqa: BLE001 - a bad tick must not stop the schedule
            log.exception("cron tick failed")
        count += 1
        if ticks is None or count < ticks:
            clock.sleep(interval)
