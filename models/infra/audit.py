"""The append-only audit trail: who did what, where, when and why."""

from datetime import datetime
from typing import Protocol

from flask import g, has_request_context, request
from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from extensions import db
from models.base import utcnow
from models.model import Model


class AuditEvent(Model):
    """One audited action; rows are never updated or deleted (the database refuses)."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(300))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))
    request_id: Mapped[str | None] = mapped_column(String(32))

    user = relationship("User", viewonly=True)

    @property
    def label(self) -> str:
        """Say what happened in words, for the back office's activity list."""
        base, mailed = self.action.removesuffix(".mailed"), self.action.endswith(".mailed")
        text = ACTION_LABELS.get(base) or base.split(".", 1)[-1].replace("_", " ").capitalize()
        return f"Managers e-mailed: {text[0].lower()}{text[1:]}" if mailed else text


ACTION_LABELS = {
    "drawer.open": "Cash drawer opened",
    "drawer.close": "Cash drawer closed",
    "drawer.close_approved": "Drawer over/short approved",
    "drawer.counted": "Drawer counted off, waiting for a manager",
    "drawer.overdraw_refused": "More cash asked of a drawer than it holds",
    "login.failed": "Failed sign-in",
    "login.locked": "Sign-in locked after failures",
    "login.staff": "Staff signed in",
    "register.approval_pin_failed": "Wrong manager PIN for an approval",
    "register.pin_failed": "Wrong register PIN",
    "register.line_discount": "Line discount",
    "sale.cancel": "Sale cancelled",
    "sale.return": "Return",
    "sale.return_approved": "Return approved by a manager",
    "sale.void": "Sale voided",
    "store.settings_changed": "Settings changed",
    "tracktrace.license_paused": "State reporting paused",
    "tracktrace.license_resumed": "State reporting resumed",
    "tracktrace.needs_attention": "State report needs attention",
    "tracktrace.report_dead": "State report given up",
    "tracktrace.report_handled": "State report marked handled",
    "tracktrace.report_retried": "State report retried",
    "tracktrace.report_queued": "State report queued",
    "tracktrace.reconciliation_differences": "Reconciliation found differences",
    "tracktrace.reconciliation_overdue": "Reconciliation differences open over 24 hours",
    "tracktrace.reconciliation_resolved": "Reconciliation difference settled",
    "tracktrace.reconcile_started": "Reconciliation started by hand",
}


class Recorded(Protocol):
    """A row an audit event can point at: its table and its primary key."""

    __tablename__: str

    @property
    def id(self) -> int: ...


def record(
    action: str,
    *,
    store_id: int | None = None,
    user_id: int | None = None,
    customer_id: int | None = None,
    obj: Recorded | None = None,
    reason: str | None = None,
    **details,
) -> AuditEvent:
    """Add an audit row to the current transaction; never pass personal data in details."""
    event = AuditEvent(
        action=action,
        store_id=store_id,
        user_id=user_id,
        customer_id=customer_id,
        object_type=type(obj).__tablename__ if obj is not None else None,
        object_id=str(obj.id) if obj is not None else None,
        reason=reason,
        details=details,
        ip=request.remote_addr if has_request_context() else None,
        request_id=g.get("request_id") if has_request_context() else None,
    )
    db.session.add(event)
    return event


def recent(store_id: int, limit: int = 10) -> list[AuditEvent]:
    """Return a store's latest audit events, newest first."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.store_id == store_id)
            .options(joinedload(AuditEvent.user))
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
    )
