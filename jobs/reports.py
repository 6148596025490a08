"""Send outbox rows to the state: one license at a time, in order, and never the same fact twice.

Before a try goes out it is written down (attempts + 1, in doubt). If the answer never arrives
(timeout, dropped connection, 5xx, a killed worker) the row stays in doubt, and the next sender
first asks the state whether that try landed and records it instead of sending again.
"""

import logging
from copy import copy
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from flask import current_app
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import configure_mappers

from extensions import db
from jobs.context import in_app_context
from jobs.lanes import Lane, LeaseLost, backoff_seconds
from jobs.queues import (
    PlannedJob,
    carries,
    queue,
    redis_connection,
    start_in_background,
)
from models.compliance.alerts import alert
from models.compliance.clock import clock
from models.compliance.commands import pause_license
from models.compliance.outbox import (
    ComplianceAttempt,
    ComplianceLicense,
    ComplianceReport,
    oldest_pending,
)
from models.compliance.payloads import (
    AdjustmentFact,
    Private,
    Progress,
    ReportPayload,
    ReturnFact,
    SaleFact,
    VoidFact,
)
from models.people.customers import Customer
from models.sales.orders import Order
from models.stores.store import Store
from tracktrace.adapters import adapter_for
from tracktrace.base import Adapter, Exchange, Rejected, Sent, StateError, TryLater, Unauthorized
from tracktrace.settings import setting

log = logging.getLogger("pistil.reports")
JOB_TIMEOUT = 600


def job_id_for(report_id: int) -> str:
    """Return the RQ job id of a report's send job (RQ allows letters, digits, _ and -)."""
    return f"report-{report_id}"


@carries("report")
def report_job(report_id: int) -> PlannedJob:
    """Plan the send job of a report whose transaction committed."""
    return PlannedJob(deliver_after_commit, (report_id,), job_id_for(report_id), "reports")


def deliver_after_commit(report_id: int) -> None:
    """Send a report once its transaction committed: an RQ job, or right here without Redis."""
    if redis_connection() is not None:
        send_report(report_id)
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy
    with app.app_context():
        report = db.session.get(ComplianceReport, report_id)
        dry_run = report is not None and report.store.tracktrace_dry_run
        db.session.remove()
    if dry_run:
        # Recording a payload takes no network: keep the embedded mode simple and immediate.
        send_report(report_id)
        return
    # Without Redis a real send would hold up the request: the register never waits on the state.
    start_in_background(send_report, report_id)


@in_app_context
def send_report(report_id: int) -> str:
    """Send a report and everything due on its license, in order; return how it ended."""
    store_id = db.session.scalar(
        select(ComplianceReport.store_id).where(ComplianceReport.id == report_id)
    )
    db.session.rollback()
    if store_id is None:
        return "missing"
    return drain_license(store_id)


def drain_license(store_id: int) -> str:
    """Send a license's due reports one at a time until none is due, it waits, or pauses."""
    while True:
        lane = Lane(store_id)
        if not lane.acquire():
            # The holder re-checks after it lets go, so this row cannot be left behind.
            return "busy"
        try:
            outcome = work_lane(lane)
        except LeaseLost:
            log.warning("store %s: lease lost mid-drain; another sender carries on", store_id)
            return "lease_lost"
        finally:
            lane.release()
        if outcome == "idle" and oldest_pending(store_id) is not None:
            continue
        return outcome


def work_lane(lane: Lane) -> str:
    """Send due reports while holding the lane."""
    handing_on_at = clock.now() + timedelta(seconds=setting("TRACKTRACE_DRAIN_SECONDS"))
    while True:
        db.session.rollback()
        # The lane holds the license's row: it exists.
        lane_row = db.session.scalars(
            select(ComplianceLicense).where(ComplianceLicense.store_id == lane.store_id)
        ).one()
        if lane_row.paused:
            return "paused"
        head = oldest_pending(lane.store_id)
        if head is None:
            return "idle"
        now = clock.now()
        if gave_up(head, now):
            continue
        waits = [t for t in (head.next_attempt_at, lane_row.not_before) if t and t > now]
        if waits:
            schedule(head.id, max(waits))
            return "waiting"
        if now >= handing_on_at and redis_connection() is not None:
            # Back of the queue: with few workers, other licenses get their turn in between.
            hand_on(head.id, now)
            return "handed_on"
        deliver(lane, head)


def gave_up(report: ComplianceReport, now) -> bool:
    """Mark a report dead once the state's deadline is long past; return whether it was."""
    hours = setting("TRACKTRACE_GIVE_UP_AFTER_DEADLINE_HOURS")
    if report.attempts == 0 or report.deadline_at is None:
        return False
    if now < report.deadline_at + timedelta(hours=hours):
        return False
    system = report.store.tracktrace_label
    report.status = "dead"
    report.last_error = (
        f"Gave up after {report.attempts} tries: the state's deadline passed more than "
        f"{hours:g} h ago. Last error: {report.last_error or 'none'}. Enter it in {system} by "
        "hand, or retry it here once the state system works again."
    )
    alert(report.store_id, "tracktrace.report_dead", report.last_error, report)
    db.session.commit()
    return True


def schedule(report_id: int, when) -> None:
    """Wake the license's sender at `when` (RQ's scheduler); the relay is the safety net."""
    if redis_connection() is None:
        return
    job_id = f"{job_id_for(report_id)}-at-{int(when.timestamp())}"
    queue("reports").enqueue_at(
        when, deliver_after_commit, report_id, job_id=job_id, job_timeout=JOB_TIMEOUT
    )


def hand_on(report_id: int, now) -> None:
    """Queue a continuation of this license's drain behind the jobs already waiting."""
    job_id = f"{job_id_for(report_id)}-next-{int(now.timestamp())}"
    queue("reports").enqueue(
        deliver_after_commit, report_id, job_id=job_id, job_timeout=JOB_TIMEOUT
    )


def private_fields(store: Store, report: ComplianceReport) -> Private:
    """Return the personal numbers a patient sale needs, read now and never stored in the row."""
    if report.kind not in ("sale", "return"):
        return {}
    # Sale and return rows hold a sale's snapshot.
    payload = cast(SaleFact, report.payload)
    if payload.get("customer_type", "consumer") == "consumer" or not payload.get("customer_id"):
        return {}
    customer = db.session.get(Customer, payload["customer_id"])
    if customer is None:
        return {}
    if payload["customer_type"] == "caregiver":
        # The patient the sale was for, as fixed on the order (reports queued before the order
        # kept it carry no patient_id; the migration gave their orders one).
        order = db.session.get(Order, report.order_id) if report.order_id else None
        patient_id = payload.get("patient_id") or (order.patient_id if order else None)
        patient = db.session.get(Customer, patient_id) if patient_id else None
        return {
            "patient_license": patient.medical_card_number if patient is not None else None,
            "caregiver_license": customer.medical_card_number,
        }
    return {"patient_license": customer.medical_card_number}


def fact_to_send(store: Store, report: ComplianceReport) -> ReportPayload:
    """Return what the adapter sends: the row's snapshot plus any personal numbers it needs."""
    private = private_fields(store, report)
    if not private:
        # A copy: the sender works on its own, never on the row's attribute.
        return copy(report.payload)
    return {**cast(SaleFact, report.payload), **private}


@dataclass
class Outgoing:
    """One report as its sender carries it, with no database row attached."""

    kind: str
    external_number: str
    request_id: str
    progress: Progress
    fact: ReportPayload
    # The state's id for the sale a void or a return is about.
    sale_state_id: str | None = None


def sale_state_id(report: ComplianceReport) -> str:
    """Return the state's id for the sale a void or return is about; refuse if it has none."""
    sale = db.session.scalar(
        select(ComplianceReport).where(ComplianceReport.key == f"sale:{report.order_id}")
    )
    if sale is not None and sale.status == "sent" and sale.state_id:
        return sale.state_id
    status = "missing" if sale is None else sale.status.replace("_", " ")
    what = "void" if report.kind == "void" else "record a return on"
    raise Rejected(
        f"Sale #{report.order_id} has not reached {report.store.tracktrace_label} (its report is "
        f"{status}), so there is nothing to {what} there yet. Resolve the sale's report first, "
        "then retry this one."
    )


def deliver(lane: Lane, report: ComplianceReport) -> None:
    """Take one report through check, send and outcome, with no transaction open while waiting."""
    report_id, kind = report.id, report.kind
    store = report.store
    job = Outgoing(
        kind,
        report.external_number,
        report.request_id,
        cast(Progress, dict(report.progress or {})),
        fact_to_send(store, report),
    )
    in_doubt = report.in_doubt
    sending = False
    adapter: Adapter | None = None
    try:
        adapter = adapter_for(store, pace=lane.pace)
        job.sale_state_id = sale_state_id(report) if kind in ("void", "return") else None
    except StateError as problem:
        finish(report_id, adapter, failure=problem)
        return
    db.session.commit()
    try:
        if in_doubt:
            confirmation = adapter.confirm(
                kind,
                job.fact,
                external_number=job.external_number,
                request_id=job.request_id,
                progress=job.progress,
                sale_state_id=job.sale_state_id,
            )
            if confirmation.landed is True:
                note = "The state already had it from an earlier try; not sent again."
                finish(report_id, adapter, sent=Sent(confirmation.state_id, note=note))
                return
            if confirmation.landed is None:
                reason = confirmation.unknown_reason or "The state cannot tell."
                finish(report_id, adapter, failure=Rejected(reason))
                return
        progress = adapter.before_send(kind, job.fact) or job.progress
        if not claim_try(report_id, progress):
            return
        sending = True
        sent = send(adapter, job)
    except LeaseLost:
        record_exchanges(report_id, adapter.take_exchanges() if adapter else [])
        db.session.commit()
        raise
    except StateError as problem:
        finish(report_id, adapter, failure=problem, sending=sending)
        return
    except Exception as problem:  # noqa: BLE001 - an unexpected answer must not lose the row
        log.exception("report %s: unexpected failure", report_id)
        failure = TryLater(f"Unexpected error while reporting: {problem}", may_have_landed=True)
        finish(report_id, adapter, failure=failure, sending=sending)
        return
    finish(report_id, adapter, sent=sent)


def send(adapter: Adapter, job: Outgoing) -> Sent:
    """Make the report's one call to the state (each kind's row holds that kind's snapshot)."""
    if job.kind == "sale":
        return adapter.report_sale(
            cast(SaleFact, job.fact), external_number=job.external_number, request_id=job.request_id
        )
    if job.kind == "adjustment":
        return adapter.report_adjustment(cast(AdjustmentFact, job.fact), request_id=job.request_id)
    # deliver() found the sale's id at the state, or refused to go on.
    sale_id = job.sale_state_id or ""
    if job.kind == "void":
        return adapter.void_sale(
            cast(VoidFact, job.fact), sale_state_id=sale_id, request_id=job.request_id
        )
    return adapter.report_return(
        cast(ReturnFact, job.fact), sale_state_id=sale_id, request_id=job.request_id
    )


def claim_try(report_id: int, progress: Progress) -> bool:
    """Write the try down before it goes out, so a crash leaves the row in doubt, not lost."""
    db.session.rollback()
    result = db.session.execute(
        update(ComplianceReport)
        .where(ComplianceReport.id == report_id, ComplianceReport.status == "pending")
        .values(
            attempts=ComplianceReport.attempts + 1,
            in_doubt=True,
            last_attempt_at=clock.now(),
            progress=progress,
        )
    )
    db.session.commit()
    # An UPDATE's result is a CursorResult, which the session's signature does not say.
    return cast(CursorResult, result).rowcount == 1


def record_exchanges(report_id: int, exchanges: list[Exchange]) -> None:
    """Keep every exchange with the state on the report's attempt log."""
    for exchange in exchanges:
        db.session.add(
            ComplianceAttempt(
                report_id=report_id,
                started_at=exchange.started_at or clock.now(),
                duration_ms=exchange.duration_ms,
                action=exchange.action,
                method=exchange.method,
                url=exchange.url[:300],
                request_body=exchange.request_body,
                http_status=exchange.http_status,
                outcome=exchange.outcome or "ok",
                message=exchange.message,
                response_body=exchange.response_body,
            )
        )


def finish(
    report_id: int,
    adapter: Adapter | None,
    *,
    sent: Sent | None = None,
    failure: StateError | None = None,
    sending: bool = False,
) -> None:
    """Record a report's outcome and what was said, in one transaction.

    Only a failure of the send itself can clear the doubt: if asking the state failed, an earlier
    unanswered try may still have landed, so the next sender must ask again.
    """
    db.session.rollback()
    exchanges = adapter.take_exchanges() if adapter else []
    record_exchanges(report_id, exchanges)
    report = db.session.get_one(ComplianceReport, report_id)
    now = clock.now()
    statuses = [e.http_status for e in exchanges if e.http_status is not None]
    report.last_http_status = statuses[-1] if statuses else report.last_http_status
    if sent is not None:
        report.status = "sent"
        report.dry_run = bool(adapter is not None and adapter.dry_run)
        report.state_id = sent.state_id or report.state_id
        report.sent_at = now
        report.in_doubt = False
        report.next_attempt_at = None
        report.last_error = sent.note
    elif isinstance(failure, Unauthorized):
        # Refused at the door: nothing was recorded, and nothing else will be until a person acts.
        report.in_doubt = report.in_doubt and not sending
        report.last_error = failure.message
        pause_license(report.store_id, failure.message)
    elif isinstance(failure, Rejected):
        report.status = "needs_attention"
        report.in_doubt = report.in_doubt and not sending
        report.last_error = failure.message
        report.next_attempt_at = None
        alert(report.store_id, "tracktrace.needs_attention", failure.message, report)
    elif isinstance(failure, TryLater):
        report.in_doubt = report.in_doubt and (failure.may_have_landed or not sending)
        wait = backoff_seconds(max(1, report.attempts))
        if failure.retry_after is not None:
            wait = max(wait, failure.retry_after)
            hold_license(report.store_id, now + timedelta(seconds=failure.retry_after))
        report.next_attempt_at = now + timedelta(seconds=wait)
        report.last_error = f"{failure.message} Next try in {int(wait)} s."
    db.session.commit()


def hold_license(store_id: int, until) -> None:
    """Send nothing for this license before `until` (the state's Retry-After)."""
    db.session.execute(
        update(ComplianceLicense)
        .where(ComplianceLicense.store_id == store_id)
        .values(not_before=until)
    )


def warm_up() -> None:
    """Compile the send job's statements in the worker before it forks its work horses.

    RQ runs each job in a fresh fork of the worker: without this, every job pays SQLAlchemy's
    first-use compilation again (hundreds of ms), which caps one worker at a few reports a second.
    """
    configure_mappers()
    nobody = -1
    db.session.scalar(select(ComplianceReport.store_id).where(ComplianceReport.id == nobody))
    oldest_pending(nobody)
    db.session.scalar(select(ComplianceLicense).where(ComplianceLicense.store_id == nobody))
    db.session.scalar(select(ComplianceReport).where(ComplianceReport.key == "warm-up"))
    db.session.get(ComplianceReport, nobody)
    Lane(nobody)._claim(renew_only=False)
    lane = Lane(nobody)
    lane.release()
    db.session.scalar(
        select(ComplianceLicense.last_request_at).where(ComplianceLicense.store_id == nobody)
    )
    db.session.execute(
        update(ComplianceLicense)
        .where(ComplianceLicense.store_id == nobody)
        .values(last_request_at=clock.now())
    )
    db.session.execute(
        update(ComplianceReport)
        .where(ComplianceReport.id == nobody, ComplianceReport.status == "pending")
        .values(attempts=ComplianceReport.attempts + 1, in_doubt=True, progress={})
    )
    db.session.rollback()
    # The work horses are forks: they must open their own connections, never share these.
    db.engine.dispose()
