"""Compliance screens: report status, each report's exchanges, retries, pauses, reconciliation."""

import json
from datetime import date, timedelta

from flask import abort, flash, request, url_for
from sqlalchemy import select

from blueprints.access import acting_staff, current_store, store_object
from blueprints.htmx import redirect_to, render
from blueprints.manage import bp
from extensions import db
from jobs.connection_check import check_connection
from models.compliance.clock import clock
from models.compliance.commands import mark_handled, pause_by_hand, resume_license, retry_report
from models.compliance.outbox import (
    SHOWN_STATUSES,
    ComplianceReport,
    ReconciliationItem,
    license_for,
    oldest_pending,
    status_counts,
)
from models.compliance.reconciliation import (
    latest_run,
    resend_item,
    resolve_item,
    run_state,
    start_reconciliation,
)
from models.stores.store import Store
from tracktrace.settings import setting

STATUS_LABELS = SHOWN_STATUSES


def deadline_warning(store: Store) -> str | None:
    """Return the warning the back office shows across its pages for a store, if any."""
    lane = license_for(store.id)
    if lane is not None and lane.paused:
        return f"Reporting to {store.tracktrace_label} is paused: {lane.pause_reason}"
    head = oldest_pending(store.id)
    if head is None or head.deadline_at is None:
        return None
    left = head.deadline_at - clock.now()
    warn = timedelta(minutes=setting("TRACKTRACE_WARN_BEFORE_DEADLINE_MINUTES"))
    if left > warn:
        return None
    due = head.deadline_at.astimezone(store.zone).strftime("%-I:%M %p on %b %-d")
    if left.total_seconds() <= 0:
        return f"{head.label} missed the state's deadline ({due}) and is still not reported."
    return f"{head.label} is not reported yet and the state's deadline is {due}."


@bp.app_context_processor
def compliance_banner():
    """Give back-office templates the reporting warning for the current store."""
    if request.blueprint != "manage" or acting_staff() is None:
        return {}
    store = current_store()
    return {"compliance_warning": deadline_warning(store) if store else None}


@bp.get("/compliance")
def compliance():
    """Show counts by status, the oldest pending report, the license's state, and the reports."""
    store = current_store()
    wanted = request.args.get("status")
    query = select(ComplianceReport).where(ComplianceReport.store_id == store.id)
    if wanted == "recorded":
        query = query.where(ComplianceReport.status == "sent", ComplianceReport.dry_run.is_(True))
    elif wanted == "sent":
        query = query.where(ComplianceReport.status == "sent", ComplianceReport.dry_run.is_(False))
    elif wanted in SHOWN_STATUSES:
        query = query.where(ComplianceReport.status == wanted)
    reports = db.session.scalars(query.order_by(ComplianceReport.id.desc()).limit(100)).all()
    return render(
        "manage/compliance.html",
        store=store,
        counts=status_counts(store.id),
        labels=STATUS_LABELS,
        wanted=wanted,
        reports=reports,
        oldest=oldest_pending(store.id),
        lane=license_for(store.id),
        now=clock.now(),
    )


@bp.get("/compliance/reports/<id:report_id>")
def compliance_report(report_id: int):
    """Show one report: what it says, what was sent, and every answer from the state."""
    report = store_object(ComplianceReport, report_id)
    return render(
        "manage/compliance_report.html",
        store=current_store(),
        report=report,
        labels=STATUS_LABELS,
        payload=json.dumps(report.payload, indent=2, sort_keys=True),
    )


@bp.post("/compliance/reports/<id:report_id>/retry")
def compliance_retry(report_id: int):
    """Queue a report again (it asks the state first, so it is never reported twice)."""
    report = store_object(ComplianceReport, report_id)
    if report.status == "sent":
        abort(409)
    retry_report(report, acting_staff().id, reason="Retried from the back office.")
    db.session.commit()
    flash(f"{report.label} is queued again.")
    return redirect_to(url_for("manage.compliance_report", report_id=report_id))


@bp.post("/compliance/reports/<id:report_id>/handled")
def compliance_handled(report_id: int):
    """Record that a report was entered in the state's own screens."""
    report = store_object(ComplianceReport, report_id)
    if report.status == "sent":
        abort(409)
    try:
        mark_handled(report, acting_staff().id, request.form.get("note", ""))
    except ValueError as problem:
        flash(str(problem), "error")
        return redirect_to(url_for("manage.compliance_report", report_id=report_id))
    db.session.commit()
    flash(f"{report.label} is marked as handled.")
    return redirect_to(url_for("manage.compliance_report", report_id=report_id))


@bp.post("/compliance/pause")
def compliance_pause():
    """Stop reporting for this store's license until resumed."""
    store = current_store()
    pause_by_hand(store.id, acting_staff().id, request.form.get("reason", ""))
    db.session.commit()
    flash(f"Reporting to {store.tracktrace_label} is paused.")
    return redirect_to(url_for("manage.compliance"))


@bp.post("/compliance/resume")
def compliance_resume():
    """Let reporting for this store's license go on, and send what waits."""
    store = current_store()
    resume_license(store.id, acting_staff().id)
    db.session.commit()
    flash(f"Reporting to {store.tracktrace_label} resumed.")
    return redirect_to(url_for("manage.compliance"))


@bp.post("/compliance/test")
def compliance_test():
    """Check the store's connection and credentials with its state system."""
    check = check_connection(current_store())
    flash(check.message, "message" if check.ok else "error")
    return redirect_to(url_for("manage.compliance"))


def chosen_day(store: Store) -> date:
    text = request.values.get("date")
    try:
        return date.fromisoformat(text) if text else store.business_date() - timedelta(days=1)
    except ValueError:
        abort(400)


@bp.get("/compliance/reconcile")
def compliance_reconcile():
    """Show the latest reconciliation of a business day: its progress, then its differences."""
    store = current_store()
    day = chosen_day(store)
    run = latest_run(store.id, day)
    return render(
        "manage/compliance_reconcile.html",
        block="result",
        store=store,
        day=day,
        run=run,
        state=run_state(run) if run is not None else None,
    )


@bp.post("/compliance/reconcile")
def compliance_reconcile_run():
    """Start reconciling a business day; the state's paged answers are read by a job."""
    store = current_store()
    day = chosen_day(store)
    if start_reconciliation(store, day, acting_staff().id) is None:
        flash(f"The reconciliation of {day:%b %-d} is already running.")
    db.session.commit()
    return redirect_to(url_for("manage.compliance_reconcile", date=day.isoformat()))


@bp.post("/compliance/reconcile/items/<id:item_id>/resolve")
def compliance_resolve(item_id: int):
    """Settle a difference with a note (audited)."""
    item = store_object(ReconciliationItem, item_id)
    try:
        resolve_item(item, acting_staff().id, request.form.get("note", ""))
    except ValueError as problem:
        flash(str(problem), "error")
    else:
        db.session.commit()
        flash("The difference is marked as settled.")
    return redirect_to(url_for("manage.compliance_reconcile", date=item.business_date.isoformat()))


@bp.post("/compliance/reconcile/items/<id:item_id>/resend")
def compliance_resend(item_id: int):
    """Send our sale again for a difference (the job asks the state first)."""
    item = store_object(ReconciliationItem, item_id)
    if item.kind == "missing_here" or item.external_number is None:
        abort(409)
    report = resend_item(item, acting_staff().id)
    db.session.commit()
    flash(f"{report.label} is queued to be sent again.")
    return redirect_to(url_for("manage.compliance_reconcile", date=item.business_date.isoformat()))
