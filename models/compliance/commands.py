"""What a person (or the reconciliation) may do to reporting: retry, mark handled, pause, resume.

Views and jobs call these; each only changes rows and asks for the send job after commit, so the
caller's one commit decides.
"""

from sqlalchemy import update

from extensions import db
from models.compliance.alerts import alert
from models.compliance.clock import clock
from models.compliance.outbox import (
    ComplianceLicense,
    ComplianceReport,
    ensure_license_row,
    oldest_pending,
)
from models.infra.after_commit import after_commit
from models.infra.audit import record


def pause_license(store_id: int, reason: str, *, user_id: int | None = None) -> None:
    """Stop reporting for a license until a person resumes it, and alert."""
    db.session.execute(
        update(ComplianceLicense)
        .where(ComplianceLicense.store_id == store_id)
        .values(paused=True, pause_reason=reason, paused_at=clock.now())
    )
    alert(store_id, "tracktrace.license_paused", reason, user_id=user_id)


def retry_report(report: ComplianceReport, user_id: int | None, *, reason: str) -> None:
    """Put a report back in the queue; it asks the state first, so a retry never doubles it."""
    report.status = "pending"
    report.next_attempt_at = None
    # Whatever happened before, a person's retry checks with the state before sending again.
    report.in_doubt = report.in_doubt or report.attempts > 0
    record("tracktrace.report_retried", store_id=report.store_id, user_id=user_id, obj=report,
           reason=reason[:300])  # fmt: skip
    after_commit("report", report.id)


def mark_handled(report: ComplianceReport, user_id: int | None, note: str) -> None:
    """Record that a person entered a report in the state's own screens (audited)."""
    note = note.strip()
    if not note:
        raise ValueError("Say how the report was handled (e.g. entered in Metrc by hand).")
    report.status = "sent"
    report.dry_run = False
    report.in_doubt = False
    report.next_attempt_at = None
    report.sent_at = clock.now()
    report.last_error = f"Handled by hand: {note}"[:1000]
    record("tracktrace.report_handled", store_id=report.store_id, user_id=user_id, obj=report,
           reason=note[:300])  # fmt: skip


def resume_license(store_id: int, user_id: int | None) -> None:
    """Let a paused license report again and wake its sender (audited)."""
    ensure_license_row(store_id, commit=False)
    db.session.execute(
        update(ComplianceLicense)
        .where(ComplianceLicense.store_id == store_id)
        .values(paused=False, pause_reason=None, paused_at=None, not_before=None)
    )
    record("tracktrace.license_resumed", store_id=store_id, user_id=user_id)
    head = oldest_pending(store_id)
    if head is not None:
        after_commit("report", head.id)


def pause_by_hand(store_id: int, user_id: int | None, reason: str) -> None:
    """Stop reporting for a license on a person's word (audited)."""
    ensure_license_row(store_id, commit=False)
    pause_license(
        store_id, f"Paused by hand: {reason.strip() or 'no reason given'}", user_id=user_id
    )
