"""Reading sales: the register's open sales, a business day's sales, a sale's report status."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from extensions import db
from models.compliance.outbox import sale_report_status
from models.sales.orders import Order
from models.stores.store import Store

REPORT_BADGES = {
    "pending": ("queued", "Queued for the state"),
    "sent": ("reported", "Reported to the state"),
    "recorded": ("recorded", "Recorded (dry run)"),
    "needs_attention": ("attention", "Needs attention"),
    "dead": ("attention", "Needs attention"),
}


@dataclass(frozen=True)
class ReportBadge:
    """The state-report status of a sale, as the receipt shows it."""

    key: str
    label: str

    @property
    def final(self) -> bool:
        """Say whether the status can still change by itself (queued can)."""
        return self.key != "queued"


def open_register_sales(store: Store) -> list[Order]:
    """Return the store's open register sales (the checked-in customers), oldest first."""
    return list(
        db.session.scalars(
            select(Order)
            .where(
                Order.store_id == store.id,
                Order.channel == "register",
                Order.status == "open",
            )
            .order_by(Order.created_at, Order.id)
        )
    )


def sales_on(store: Store, day: date, limit: int = 100) -> list[Order]:
    """Return a business day's completed and voided sales, newest first."""
    return list(
        db.session.scalars(
            select(Order)
            .where(
                Order.store_id == store.id,
                Order.business_date == day,
                Order.status.in_(("completed", "voided")),
            )
            .order_by(Order.completed_at.desc())
            .limit(limit)
        )
    )


def report_badge(order: Order) -> ReportBadge | None:
    """Return the state-report status of a completed sale (queued, reported or recorded, ...)."""
    status = sale_report_status(order.id)
    if status is None:
        return None
    key, label = REPORT_BADGES.get(status, ("attention", "Needs attention"))
    return ReportBadge(key, label)
