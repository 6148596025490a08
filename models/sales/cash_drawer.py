"""Cash drawers: a counted float, drops and paid-outs, and a blind closing count with over/short.

The closing count is blind: nobody at the register sees what the drawer should hold until the
count is recorded. The first count stands; an over/short beyond the store's allowance keeps the
drawer counted but not closed (it takes no more cash) until a manager other than the counter
approves it with a PIN and a reason.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import utcnow
from models.infra import audit
from models.model import Model
from models.people.users import User
from models.sales.orders import Tender
from models.stores.store import Store
from models.units import money

# US notes and coins in cents, largest first, with the label printed on the count sheet.
DENOMINATIONS = (
    (10000, "$100"),
    (5000, "$50"),
    (2000, "$20"),
    (1000, "$10"),
    (500, "$5"),
    (100, "$1"),
    (25, "25¢"),
    (10, "10¢"),
    (5, "5¢"),
    (1, "1¢"),
)
ENTRY_KINDS = ("drop", "paid_out", "refund")
ENTRY_LABELS = {"drop": "Cash drop", "paid_out": "Paid out", "refund": "Refund"}
MAX_DRAWER_CENTS = 10_000_00 * 100  # far above any real drawer; catches a typo'd count


class DrawerError(ValueError):
    """A drawer action that cannot be done, with the message to show and the HTTP status."""

    status = 422

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status


class DrawerShort(DrawerError):
    """More cash asked of a drawer than it should hold (the message never says how much)."""


class CashDrawer(Model):
    """One drawer session on a register: from the opening float to the closing count."""

    __tablename__ = "cash_drawer"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed')", name="status"),
        CheckConstraint("opening_float_cents >= 0", name="float_nonnegative"),
        Index("ix_cash_drawer_store_status", "store_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(8), default="open")
    business_date: Mapped[date]
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opening_float_cents: Mapped[int]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime | None]
    # The blind count: who counted and when. Set and still open means waiting for a manager.
    counted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    counted_at: Mapped[datetime | None]
    # The manager who approved an over/short beyond the store's allowance, and why.
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approval_reason: Mapped[str | None] = mapped_column(String(300))
    # Denomination in cents (as text, JSON keys are strings) -> how many were counted.
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    counted_cents: Mapped[int | None]
    expected_cents: Mapped[int | None]
    over_short_cents: Mapped[int | None]
    close_note: Mapped[str | None] = mapped_column(String(300))

    store: Mapped[Store] = relationship()
    opened_by: Mapped[User] = relationship(foreign_keys=[opened_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    counted_by: Mapped[User | None] = relationship(foreign_keys=[counted_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    entries: Mapped[list["DrawerEntry"]] = relationship(
        back_populates="drawer", order_by="DrawerEntry.id", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        """Say whether the drawer still takes cash (open and not counted yet)."""
        return self.status == "open" and self.counted_at is None

    @property
    def awaiting_approval(self) -> bool:
        """Say whether the drawer was counted off by too much and waits for a manager."""
        return self.status == "open" and self.counted_at is not None

    def __repr__(self) -> str:
        return f"<CashDrawer {self.id} {self.name}>"


class DrawerEntry(Model):
    """Cash that left the drawer other than as change: a drop to the safe, a paid-out, a refund."""

    __tablename__ = "drawer_entry"
    __table_args__ = (
        CheckConstraint("kind IN ('drop', 'paid_out', 'refund')", name="kind"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    drawer_id: Mapped[int] = mapped_column(
        ForeignKey("cash_drawer.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    amount_cents: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("sale_order.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    drawer: Mapped[CashDrawer] = relationship(back_populates="entries")
    user: Mapped[User] = relationship()

    @property
    def label(self) -> str:
        """Name the kind of entry for people."""
        return ENTRY_LABELS[self.kind]


@dataclass(frozen=True)
class DrawerTotals:
    """What should be in a drawer: the float, plus cash sales, minus what left it."""

    opening_float_cents: int
    cash_sales_cents: int
    cash_sales: int
    drops_cents: int
    paid_outs_cents: int
    refunds_cents: int

    @property
    def expected_cents(self) -> int:
        """Return the cash that should be in the drawer now."""
        return (
            self.opening_float_cents
            + self.cash_sales_cents
            - self.drops_cents
            - self.paid_outs_cents
            - self.refunds_cents
        )


def open_drawers(store: Store) -> list[CashDrawer]:
    """Return the store's open drawers, by name."""
    return list(
        db.session.scalars(
            select(CashDrawer)
            .where(CashDrawer.store_id == store.id, CashDrawer.status == "open")
            .order_by(CashDrawer.name)
        )
    )


def recent_drawers(store: Store, limit: int = 10) -> list[CashDrawer]:
    """Return the store's latest closed drawers, newest first."""
    return list(
        db.session.scalars(
            select(CashDrawer)
            .where(CashDrawer.store_id == store.id, CashDrawer.status == "closed")
            .order_by(CashDrawer.closed_at.desc())
            .limit(limit)
        )
    )


def open_drawer(store: Store, name: str, float_cents: int, user: User) -> CashDrawer:
    """Open a drawer with a counted float; one open drawer per name and store."""
    name = name.strip()
    if not name:
        raise DrawerError("Name the drawer, e.g. Register 1.")
    if float_cents < 0 or float_cents > MAX_DRAWER_CENTS:
        raise DrawerError("Enter the float you counted into the drawer.")
    if any(d.name.lower() == name.lower() for d in open_drawers(store)):
        raise DrawerError(f"{name} is already open. Close it first or use it from this tablet.")
    drawer = CashDrawer(
        store_id=store.id,
        name=name,
        status="open",
        business_date=store.business_date(),
        opened_by_id=user.id,
        opening_float_cents=float_cents,
        counts={},
    )
    db.session.add(drawer)
    db.session.flush()
    audit.record(
        "drawer.open", store_id=store.id, user_id=user.id, obj=drawer, float_cents=float_cents
    )
    return drawer


def totals(drawer: CashDrawer) -> DrawerTotals:
    """Return the float, cash taken and cash that left a drawer, from the database."""
    cash_sales, count = db.session.execute(
        select(func.coalesce(func.sum(Tender.amount_cents), 0), func.count(Tender.id)).where(
            Tender.drawer_id == drawer.id, Tender.kind == "cash"
        )
    ).one()
    by_kind = dict.fromkeys(ENTRY_KINDS, 0)
    rows = db.session.execute(
        select(DrawerEntry.kind, func.sum(DrawerEntry.amount_cents))
        .where(DrawerEntry.drawer_id == drawer.id)
        .group_by(DrawerEntry.kind)
    )
    by_kind.update({kind: int(amount) for kind, amount in rows})
    return DrawerTotals(
        opening_float_cents=drawer.opening_float_cents,
        cash_sales_cents=int(cash_sales),
        cash_sales=int(count),
        drops_cents=by_kind["drop"],
        paid_outs_cents=by_kind["paid_out"],
        refunds_cents=by_kind["refund"],
    )


def _reread(drawer: CashDrawer, **lock) -> CashDrawer:
    return db.session.scalars(
        select(CashDrawer)
        .where(CashDrawer.id == drawer.id)
        .with_for_update(**lock)
        .execution_options(populate_existing=True)
    ).one()


def _lock(drawer: CashDrawer) -> CashDrawer:
    """Re-read a drawer under a row lock, so two tablets cannot close or empty it at once."""
    # NO KEY UPDATE: sales on other tablets may still record tenders against this drawer.
    return _reread(drawer, key_share=True)


def share_lock(drawer: CashDrawer) -> CashDrawer:
    """Re-read a drawer under a shared lock: sales take cash at once, a close waits for them."""
    return _reread(drawer, read=True)


def take_out(
    drawer: CashDrawer,
    kind: str,
    amount_cents: int,
    reason: str,
    user: User,
    *,
    order_id: int | None = None,
) -> DrawerEntry:
    """Record cash leaving an open drawer (drop, paid-out or refund); never more than it holds."""
    if kind not in ENTRY_KINDS:
        raise ValueError(f"unknown drawer entry kind {kind!r}")
    drawer = _lock(drawer)
    if not drawer.is_open:
        raise DrawerError(f"{drawer.name} is closed. Open a drawer first.")
    if amount_cents <= 0:
        raise DrawerError("Enter an amount above zero.")
    reason = (reason or "").strip()
    if not reason:
        raise DrawerError("Say what the cash is for.")
    if amount_cents > totals(drawer).expected_cents:
        # Never say how much it holds: the closing count is blind.
        raise DrawerShort(
            f"{drawer.name} does not hold enough cash to give out {money(amount_cents)}. "
            "Ask a manager."
        )
    entry = DrawerEntry(
        drawer_id=drawer.id,
        kind=kind,
        amount_cents=amount_cents,
        reason=reason[:200],
        user_id=user.id,
        order_id=order_id,
    )
    db.session.add(entry)
    db.session.flush()
    audit.record(
        f"drawer.{kind}",
        store_id=drawer.store_id,
        user_id=user.id,
        obj=drawer,
        reason=reason[:300],
        amount_cents=amount_cents,
    )
    return entry


def counted_total(counts: dict[int, int]) -> int:
    """Return the cash a count by denomination adds up to, in cents."""
    known = {value for value, _ in DENOMINATIONS}
    total = 0
    for value, number in counts.items():
        if value not in known:
            raise DrawerError(f"{value}¢ is not a denomination the count sheet knows.")
        if number < 0:
            raise DrawerError("A count cannot be negative.")
        total += value * number
    return total


def count_drawer(
    drawer: CashDrawer, counts: dict[int, int], user: User, note: str = ""
) -> CashDrawer:
    """Record the blind closing count; close at once if the over/short is within the allowance.

    A retry of a close returns the drawer as it is; a different count after the expected amount
    was shown is refused (409): the first count stands.
    """
    drawer = _lock(drawer)
    counted = counted_total(counts)
    if counted > MAX_DRAWER_CENTS:
        raise DrawerError("That count is far above what a drawer holds. Check the numbers.")
    kept = {str(value): number for value, number in counts.items() if number}
    if drawer.status == "closed":
        return drawer
    if drawer.counted_at is not None:
        if kept == drawer.counts:
            return drawer
        raise DrawerError(
            f"{drawer.name} was already counted at {money(drawer.counted_cents or 0)}; "
            "a manager approves that count.",
            status=409,
        )
    expected = totals(drawer).expected_cents
    drawer.counts = kept
    drawer.counted_cents = counted
    drawer.expected_cents = expected
    drawer.over_short_cents = counted - expected
    drawer.close_note = (note or "").strip()[:300] or None
    drawer.counted_at = utcnow()
    drawer.counted_by_id = user.id
    figures: dict[str, Any] = {
        "expected_cents": expected,
        "counted_cents": counted,
        "over_short_cents": counted - expected,
    }
    if abs(counted - expected) <= drawer.store.drawer_variance_cents:
        _close(drawer, user)
        audit.record(
            "drawer.close", store_id=drawer.store_id, user_id=user.id, obj=drawer, **figures
        )
    else:
        audit.record(
            "drawer.counted",
            store_id=drawer.store_id,
            user_id=user.id,
            obj=drawer,
            allowance_cents=drawer.store.drawer_variance_cents,
            **figures,
        )
    return drawer


def approve_count(drawer: CashDrawer, manager: User | None, reason: str, operator: User):
    """Close a drawer whose over/short is beyond the allowance: another manager's say-so."""
    drawer = _lock(drawer)
    if drawer.status == "closed":
        raise DrawerError(f"{drawer.name} was already closed.", status=409)
    if drawer.counted_at is None:
        raise DrawerError(f"Count {drawer.name} first.")
    reason = (reason or "").strip()
    if not reason:
        raise DrawerError("Give a reason for the over/short (it is audited).")
    if manager is None or not manager.has_role(drawer.store, "manager"):
        raise DrawerError("A manager must approve this over/short with their PIN.")
    if manager.id == drawer.counted_by_id:
        raise DrawerError("Someone other than the person who counted must approve this over/short.")
    drawer.approved_by_id = manager.id
    drawer.approval_reason = reason[:300]
    _close(drawer, drawer.counted_by or operator)
    audit.record(
        "drawer.close_approved",
        store_id=drawer.store_id,
        user_id=manager.id,
        obj=drawer,
        reason=reason[:300],
        counted_by=drawer.counted_by_id,
        operator_id=operator.id,
        expected_cents=drawer.expected_cents,
        counted_cents=drawer.counted_cents,
        over_short_cents=drawer.over_short_cents,
    )
    return drawer


def _close(drawer: CashDrawer, user: User) -> None:
    drawer.status = "closed"
    drawer.closed_at = utcnow()
    drawer.closed_by_id = user.id


def drawer_in_use(store: Store, drawer_id: int | None) -> CashDrawer | None:
    """Return the tablet's drawer while it is open, counted or not, if it belongs to the store."""
    if not drawer_id:
        return None
    drawer = db.session.get(CashDrawer, drawer_id)
    if drawer is None or drawer.store_id != store.id or drawer.status != "open":
        return None
    return drawer


def usable_drawer(store: Store, drawer_id: int | None) -> CashDrawer | None:
    """Return the tablet's drawer if it is open and belongs to the store."""
    if not drawer_id:
        return None
    drawer = db.session.get(CashDrawer, drawer_id)
    if drawer is None or drawer.store_id != store.id or not drawer.is_open:
        return None
    return drawer
