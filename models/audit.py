"""The append-only audit trail: who did what, where, when and why."""

from datetime import datetime

from flask import g, has_request_context, request
from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import utcnow


class AuditEvent(db.Model):
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


def record(
    action: str,
    *,
    store_id: int | None = None,
    user_id: int | None = None,
    customer_id: int | None = None,
    obj: object | None = None,
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
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
    )
