"""Cash drawers: a counted float, drops and paid-outs, and a closing count with over/short."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models import audit
from models.base import utcnow
from models.orders import Tender
from models.stores import Store
from models.users import User

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
    """A drawer action that cannot be done, with the message to show."""


class CashDrawer(db.Model):
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
    # Denomination in cents (as text, JSON keys are strings) -> how many were counted.
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    counted_cents: Mapped[int | None]
    expected_cents: Mapped[int | None]
    over_short_cents: Mapped[int | None]
    close_note: Mapped[str | None] = mapped_column(String(300))

    store: Mapped[Store] = relationship()
    opened_by: Mapped[User] = relationship(foreign_keys=[opened_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    entries: Mapped[list["DrawerEntry"]] = relationship(
        back_populates="drawer", order_by="DrawerEntry.id", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        """Say whether the drawer still takes cash."""
        return self.status == "open"

    def __repr__(self) -> str:
        return f"<CashDrawer {self.id} {self.name}>"


class DrawerEntry(db.Model):
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
    expected = totals(drawer).expected_cents
    if amount_cents > expected:
        raise DrawerError(
            f"{drawer.name} should only hold {_money(expected)}; "
            f"it cannot give out {_money(amount_cents)}."
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


def close_drawer(
    drawer: CashDrawer, counts: dict[int, int], user: User, note: str = ""
) -> CashDrawer:
    """Close a drawer with its count by denomination; record expected, counted and over/short."""
    drawer = _lock(drawer)
    if not drawer.is_open:
        raise DrawerError(f"{drawer.name} was already closed.")
    counted = counted_total(counts)
    if counted > MAX_DRAWER_CENTS:
        raise DrawerError("That count is far above what a drawer holds. Check the numbers.")
    expected = totals(drawer).expected_cents
    drawer.counts = {str(value): number for value, number in counts.items() if number}
    drawer.counted_cents = counted
    drawer.expected_cents = expected
    drawer.over_short_cents = counted - expected
    drawer.close_note = (note or "").strip()[:300] or None
    drawer.status = "closed"
    drawer.closed_at = utcnow()
    drawer.closed_by_id = user.id
    audit.record(
        "drawer.close",
        store_id=drawer.store_id,
        user_id=user.id,
        obj=drawer,
        expected_cents=expected,
        counted_cents=counted,
        over_short_cents=counted - expected,
    )
    return drawer


def usable_drawer(store: Store, drawer_id: int | None) -> CashDrawer | None:
    """Return the tablet's drawer if it is open and belongs to the store."""
    if not drawer_id:
        return None
    drawer = db.session.get(CashDrawer, drawer_id)
    if drawer is None or drawer.store_id != store.id or not drawer.is_open:
        return None
    return drawer


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    return f"{sign}${dollars:,}.{rest:02d}"
