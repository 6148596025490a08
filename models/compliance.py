"""The compliance outbox: one row per report owed to the state, written with what it reports."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import utcnow

REPORT_KINDS = ("sale", "void", "return", "adjustment")
REPORT_STATUSES = ("pending", "sent", "needs_attention", "dead")


class ComplianceReport(db.Model):
    """A report owed to the state's track-and-trace system, and what happened to it."""

    __tablename__ = "compliance_report"
    __table_args__ = (
        CheckConstraint("kind IN ('sale', 'void', 'return', 'adjustment')", name="kind"),
        CheckConstraint("status IN ('pending', 'sent', 'needs_attention', 'dead')", name="status"),
        CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"), index=True)
    # One report per fact: e.g. "sale:42", "void:42", "adjustment:17".
    key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("sale_order.id"), index=True)
    stock_movement_id: Mapped[int | None] = mapped_column(ForeignKey("stock_movement.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    external_number: Mapped[str] = mapped_column(String(64))
    state_id: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None]


def status_counts(store_id: int) -> dict[str, int]:
    """Return how many reports of a store are in each status."""
    rows = db.session.execute(
        select(ComplianceReport.status, func.count())
        .where(ComplianceReport.store_id == store_id)
        .group_by(ComplianceReport.status)
    )
    counts = dict.fromkeys(REPORT_STATUSES, 0)
    counts.update({status: count for status, count in rows})
    return counts
