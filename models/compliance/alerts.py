"""Reporting alerts: an audit event, a log line, and a mail to the managers, not too often."""

import logging
import zlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from extensions import db
from models.base import utcnow
from models.compliance.outbox import ComplianceReport, status_counts
from models.infra.audit import AuditEvent, record
from models.infra.mail import render_body, send_later
from models.people.users import StoreMembership, User
from models.stores.store import Store

log = logging.getLogger("pistil.reports")
# Alerts e-mail the store's managers and admins, at most once per store and action per window.
ALERTED_ROLES = ("manager", "admin")
MAIL_EVERY = timedelta(minutes=30)
MAIL_THROTTLE = {"tracktrace.reconciliation_overdue": timedelta(days=1)}


def alerted_since(store_id: int, action: str, since: datetime) -> bool:
    """Return whether the store's audit trail holds an event of this action since `since`."""
    found = db.session.scalar(
        select(AuditEvent.id)
        .where(
            AuditEvent.store_id == store_id,
            AuditEvent.action == action,
            AuditEvent.at >= since,
        )
        .limit(1)
    )
    return found is not None


def mail_managers(
    store_id: int,
    action: str,
    message: str,
    report: ComplianceReport | None,
    *,
    user_id: int | None,
    path: str | None,
) -> None:
    """E-mail the store's managers and admins about an alert, at most once per window."""
    # The throttle is an audit event (`<action>.mailed`) rather than memory, so every worker and
    # cron process sees it; the audit trail is append-only, so the mark is a row, never an update.
    store = db.session.get(Store, store_id)
    if store is None:
        return
    window = MAIL_THROTTLE.get(action, MAIL_EVERY)
    mark = f"{action}.mailed"
    hold_alert_lock(store_id, mark)
    if alerted_since(store_id, mark, utcnow() - window):
        return
    recipients = managers_of(store_id)
    if not recipients:
        log.warning("store %s: %s: no active manager or admin to e-mail", store_id, action)
        return
    headline, kind, context = alert_mail(store, action, message, report, user_id=user_id)
    context["page"] = path or context["page"]
    body = render_body(f"alerts/{kind}", window=describe_window(window), **context)
    subject = f"Pistil · {store.name}: {headline}"
    for recipient in recipients:
        send_later(
            subject, body, ref=f"{action}-store-{store_id}-user-{recipient.id}", user=recipient
        )
    record(
        mark,
        store_id=store_id,
        obj=report,
        reason=f"E-mailed {len(recipients)} manager(s): {headline}"[:300],
        user_ids=[recipient.id for recipient in recipients],
    )


def hold_alert_lock(store_id: int, mark: str) -> None:
    """Let one transaction at a time decide whether to mail about this alert (PostgreSQL)."""
    # Two workers alerting at once would both find no earlier mail; the lock is released when the
    # transaction ends, so the second one then sees the first one's mark.
    if db.engine.dialect.name != "postgresql":
        return
    key = zlib.crc32(mark.encode()) - 2**31
    db.session.execute(select(func.pg_advisory_xact_lock(store_id, key)))


def managers_of(store_id: int) -> list[User]:
    """Return the store's active managers and admins who have an e-mail address."""
    return list(
        db.session.scalars(
            select(User)
            .join(StoreMembership)
            .where(
                StoreMembership.store_id == store_id,
                StoreMembership.role.in_(ALERTED_ROLES),
                User.active.is_(True),
                User.email != "",
            )
            .order_by(User.id)
        )
    )


def describe_window(window: timedelta) -> str:
    """Say a throttle window in words: '30 minutes', 'day'."""
    minutes = int(window.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return "day" if days == 1 else f"{days} days"
    return f"{minutes} minutes"


def describe_report(report: ComplianceReport) -> str:
    """Name a report without any customer's details: its number, kind and order number."""
    article = "an" if report.kind == "adjustment" else "a"
    of_order = f" for order #{report.order_id}" if report.order_id else ""
    return f"report #{report.id}, {article} {report.kind}{of_order}"


def alert_mail(
    store: Store,
    action: str,
    message: str,
    report: ComplianceReport | None,
    *,
    user_id: int | None,
) -> tuple[str, str, dict[str, Any]]:
    """Return an alert mail's headline, its template under email/alerts/, and what it says."""
    # The state's own words stay out: they can quote a patient's card number, and they are shown
    # on the report's page to whoever signs in.
    system = store.tracktrace_label
    context: dict[str, Any] = {
        "store": store,
        "system": system,
        "action": action,
        "message": message,
        "report": report,
        "page": f"/manage/compliance/reports/{report.id}" if report else "/manage/compliance",
    }
    if action == "tracktrace.license_paused":
        context["page"] = "/manage/compliance"
        context["waiting"] = status_counts(store.id)["pending"]
        context["cause"] = (
            "by_hand"
            if user_id is not None
            else "no_credentials"
            if store.tracktrace_credentials_enc is None
            else "refused"
        )
        return f"reports to {system} are paused", "license_paused", context
    if action == "tracktrace.needs_attention" and report is not None:
        context["waiting"] = status_counts(store.id)["needs_attention"]
        context["described"] = describe_report(report)
        return f"{system} rejected a report", "needs_attention", context
    if action == "tracktrace.report_dead" and report is not None:
        context["described"] = describe_report(report)
        return f"a report to {system} was given up", "report_dead", context
    if action == "tracktrace.reconciliation_differences":
        context["page"] = "/manage/compliance/reconcile"
        headline = f"{system}'s records differ from Pistil's"
        return headline, "reconciliation_differences", context
    if action == "tracktrace.reconciliation_overdue":
        context["page"] = "/manage/compliance/reconcile"
        headline = "reconciliation differences open for more than 24 hours"
        return headline, "reconciliation_overdue", context
    return "a reporting alert", "other", context


def alert(
    store_id: int,
    action: str,
    message: str,
    report: ComplianceReport | None = None,
    *,
    user_id: int | None = None,
    path: str | None = None,
) -> None:
    """Raise an alert: an audit event the back office shows, an error in the logs, and a mail."""
    # `path` is the back-office page the mail points to, when the report's page is not the one.
    mail_managers(store_id, action, message, report, user_id=user_id, path=path)
    record(action, store_id=store_id, user_id=user_id, obj=report, reason=message[:300])
    # The state's words can quote a patient's card number: they stay on the report's page.
    log.error("store %s: %s%s", store_id, action, f" (report #{report.id})" if report else "")
