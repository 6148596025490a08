"""Returns: what came back on a sale, the refund by tender, and the manager who approved it.

A return is its own record so the receipt, the refund slip, the sales list and the day's net
revenue can all read it. What each line paid is the sale's total (taxes included) split over
the lines in proportion to their totals, to the cent; a line's units are refunded cumulatively
(what n units paid, minus what the units already back paid), so the refunds of a line add up to
exactly what it paid, never a cent more, however it comes back.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import utcnow
from models.model import Model
from models.people.users import User
from models.sales.amounts import allocate, half_up
from models.sales.cash_drawer import DrawerEntry
from models.sales.orders import Order, OrderLine
from models.stores.store import Store

REFUND_KINDS = ("paid", "cash", "debit")


class SaleReturn(Model):
    """Items taken back on one completed sale at one time, and the money handed back."""

    __tablename__ = "sale_return"
    __table_args__ = (
        CheckConstraint("cash_cents >= 0", name="cash_nonnegative"),
        CheckConstraint("card_cents >= 0", name="card_nonnegative"),
        # The day's net revenue reads a store's refunds by business day.
        Index("ix_sale_return_store_business_date", "store_id", "business_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("sale_order.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    # A manager's PIN when the refund or the sale's age was beyond the store's settings.
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    drawer_id: Mapped[int | None] = mapped_column(ForeignKey("cash_drawer.id"))
    # The return form sends this once per attempt; a retried submit finds the same return.
    client_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    business_date: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(String(300))
    # The refund by tender: cash from the drawer, and back to the card the sale was paid with.
    cash_cents: Mapped[int] = mapped_column(default=0)
    card_cents: Mapped[int] = mapped_column(default=0)

    store: Mapped[Store] = relationship()
    order: Mapped[Order] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    lines: Mapped[list["SaleReturnLine"]] = relationship(
        back_populates="sale_return", cascade="all, delete-orphan", order_by="SaleReturnLine.id"
    )

    @property
    def refund_cents(self) -> int:
        """Return the whole refund, cash and card."""
        return self.cash_cents + self.card_cents

    @property
    def tenders(self) -> list[tuple[str, int]]:
        """Return the refund's tenders as (label, cents), cash first."""
        parts = [("Cash", self.cash_cents), ("Debit card", self.card_cents)]
        return [(label, cents) for label, cents in parts if cents]


class SaleReturnLine(Model):
    """One sold line coming back in a return: how much, restocked or destroyed, and its refund."""

    __tablename__ = "sale_return_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("refund_cents >= 0", name="refund_nonnegative"),
        CheckConstraint("disposition IN ('restock', 'destroy')", name="disposition"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(
        ForeignKey("sale_return.id", ondelete="CASCADE"), index=True
    )
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), index=True)
    quantity: Mapped[int]
    disposition: Mapped[str] = mapped_column(String(8))
    refund_cents: Mapped[int]

    sale_return: Mapped[SaleReturn] = relationship(back_populates="lines")
    order_line: Mapped[OrderLine] = relationship()


@dataclass(frozen=True)
class RefundRoom:
    """What a completed sale can still refund: in all, in cash, and to the card."""

    total_cents: int
    cash_cents: int
    card_cents: int


def line_payments(order: Order) -> dict[int, int]:
    """Return what each line paid: the sale's total, taxes included, split by line totals."""
    lines = list(order.lines)
    shares = allocate(order.total_cents, [line.line_total_cents for line in lines])
    return {line.id: share for line, share in zip(lines, shares, strict=True)}


def line_refund(line: OrderLine, paid_cents: int, quantity: int) -> int:
    """Return what `quantity` more of a line paid, after what already came back of it."""
    before = line.returned_quantity

    def paid_for(units: int) -> int:
        return half_up(Decimal(paid_cents) * units / line.quantity)

    return paid_for(before + quantity) - paid_for(before)


def refund_room(order: Order) -> RefundRoom:
    """Return what a sale can still refund, by tender, from what was paid and refunded."""
    cash_paid = sum(t.amount_cents for t in order.tenders if t.kind == "cash")
    card_paid = sum(t.amount_cents for t in order.tenders if t.kind != "cash")
    # Cash refunds are read from the drawers, so those recorded before returns were kept count.
    cash_back = int(
        db.session.scalars(
            select(func.coalesce(func.sum(DrawerEntry.amount_cents), 0)).where(
                DrawerEntry.order_id == order.id, DrawerEntry.kind == "refund"
            )
        ).one()
    )
    card_back = int(
        db.session.scalars(
            select(func.coalesce(func.sum(SaleReturn.card_cents), 0)).where(
                SaleReturn.order_id == order.id
            )
        ).one()
    )
    return RefundRoom(
        total_cents=max(order.total_cents - cash_back - card_back, 0),
        cash_cents=max(cash_paid - cash_back, 0),
        card_cents=max(card_paid - card_back, 0),
    )


def approval_reasons(store: Store, order: Order, refund_cents: int, today: date) -> list[str]:
    """Return why a return needs a manager's PIN (its refund, the sale's age), or nothing."""
    reasons = []
    if refund_cents > store.refund_approval_cents:
        reasons.append("amount")
    if order.business_date is not None and (
        (today - order.business_date).days > store.refund_approval_days
    ):
        reasons.append("age")
    return reasons


def returns_of(order: Order) -> list[SaleReturn]:
    """Return a sale's returns, oldest first."""
    return list(
        db.session.scalars(
            select(SaleReturn).where(SaleReturn.order_id == order.id).order_by(SaleReturn.id)
        )
    )


def refunded_by_order(order_ids: Sequence[int]) -> dict[int, int]:
    """Return {order id: cents refunded by its returns} for the orders that had any."""
    if not order_ids:
        return {}
    rows = db.session.execute(
        select(SaleReturn.order_id, func.sum(SaleReturn.cash_cents + SaleReturn.card_cents))
        .where(SaleReturn.order_id.in_(list(order_ids)))
        .group_by(SaleReturn.order_id)
    )
    return {order_id: int(cents) for order_id, cents in rows}


def returns_on(store: Store, day: date) -> list[SaleReturn]:
    """Return a business day's returns, newest first."""
    return list(
        db.session.scalars(
            select(SaleReturn)
            .where(SaleReturn.store_id == store.id, SaleReturn.business_date == day)
            .order_by(SaleReturn.id.desc())
        )
    )


def refunds_on(store: Store, day: date) -> int:
    """Return the cents refunded on a business day on sales that still stand (not voided)."""
    return int(
        db.session.scalars(
            select(func.coalesce(func.sum(SaleReturn.cash_cents + SaleReturn.card_cents), 0))
            .join(Order, Order.id == SaleReturn.order_id)
            .where(
                SaleReturn.store_id == store.id,
                SaleReturn.business_date == day,
                Order.status == "completed",
            )
        ).one()
    )


def return_status(order: Order) -> str | None:
    """Say whether a sale came back: "returned" (all of it), "partly returned", or None."""
    lines = list(order.lines)
    if not any(line.returned_quantity for line in lines):
        return None
    if all(line.returned_quantity >= line.quantity for line in lines):
        return "returned"
    return "partly returned"
