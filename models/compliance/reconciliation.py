"""Reconciliation as people drive it: open a run, follow it, settle or resend a difference.

Comparing the state's receipts with ours is jobs/reconcile.py's work; a run opened here is carried
out by the job that jobs/ plans for after-commit work of kind "reconciliation".
"""

from datetime import date, timedelta

from sqlalchemy import select

from extensions import db
from models.compliance.clock import clock
from models.compliance.commands import retry_report
from models.compliance.outbox import (
    ComplianceReport,
    ReconciliationItem,
    ReconciliationRun,
    queue_report,
)
from models.infra.after_commit import after_commit
from models.infra.audit import record
from models.sales.orders import Order
from models.stores.store import Store

# A run still unfinished after this long lost its worker: the page says so and allows another.
RUN_GIVEN_UP_AFTER = timedelta(minutes=10)


def open_run(store: Store, day: date) -> ReconciliationRun:
    """Add a reconciliation of a business day, not started yet, to the current transaction."""
    run = ReconciliationRun(store_id=store.id, business_date=day, started_at=clock.now())
    db.session.add(run)
    db.session.flush()
    return run


def latest_run(store_id: int, day: date) -> ReconciliationRun | None:
    """Return the latest reconciliation of a store's business day, if any."""
    return db.session.scalars(
        select(ReconciliationRun)
        .where(ReconciliationRun.store_id == store_id, ReconciliationRun.business_date == day)
        .order_by(ReconciliationRun.id.desc())
        .limit(1)
    ).first()


def run_state(run: ReconciliationRun) -> str:
    """Say where a run stands: "running", "given_up" (its worker must have died) or "done"."""
    if run.finished_at is not None:
        return "done"
    return "running" if run.started_at > clock.now() - RUN_GIVEN_UP_AFTER else "given_up"


def start_reconciliation(store: Store, day: date, user_id: int | None) -> ReconciliationRun | None:
    """Open a run for a person and leave its work to a job; None when one is running already."""
    latest = latest_run(store.id, day)
    if latest is not None and run_state(latest) == "running":
        return None
    run = open_run(store, day)
    record("tracktrace.reconcile_started", store_id=store.id, user_id=user_id, obj=run,
           reason=day.isoformat())  # fmt: skip
    # The state's paged answers are read off the request: jobs/ carries it to a worker (or a
    # thread without Redis) once this commits.
    after_commit("reconciliation", run.id)
    return run


def resolve_item(item: ReconciliationItem, user_id: int | None, note: str) -> None:
    """Settle a difference with a person's note (audited)."""
    note = note.strip()
    if not note:
        raise ValueError("Say how the difference was settled.")
    item.resolved_at = clock.now()
    item.resolved_by_id = user_id
    item.resolution_note = note[:300]
    record(
        "tracktrace.reconciliation_resolved",
        store_id=item.store_id,
        user_id=user_id,
        obj=item,
        reason=note[:300],
        key=item.key,
        kind=item.kind,
    )


def resend_item(item: ReconciliationItem, user_id: int | None) -> ComplianceReport:
    """Send our sale again for a difference: ask the state first, then report it if missing."""
    store = db.session.get_one(Store, item.store_id)
    if item.report_id is not None:
        report = db.session.get_one(ComplianceReport, item.report_id)
        retry_report(report, user_id, reason=f"Re-sent from reconciliation ({item.key}).")
    else:
        order = db.session.get(Order, int(item.external_number or ""))
        report = queue_report("sale", store, order=order)
        record(
            "tracktrace.report_queued",
            store_id=store.id,
            user_id=user_id,
            obj=report,
            reason=f"Queued from reconciliation ({item.key}).",
        )
    return report
