"""Paying and completing a sale: tenders, then stock, order and report in one transaction.

Completing locks the order, the customer and the packages (in id order, so two registers never
wait on each other in a circle), decrements stock through the stock ledger, and writes tenders,
the order and the state report in the caller's single transaction; the caller commits.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from extensions import db
from models.base import utcnow
from models.catalog.products import Product
from models.compliance.outbox import queue_report
from models.people.customers import Customer
from models.people.users import User
from models.sales.amounts import amount_label
from models.sales.cash_drawer import CashDrawer, share_lock
from models.sales.errors import SaleError, StockConflict
from models.sales.orders import TENDER_KINDS, Order, OrderLine, Tender
from models.sales.totals import recompute, refuse_if_over, snapshot
from models.stock.management import OutOfStock, lock_packages, move, release_holds
from models.stock.packages import Package, StockMovement
from models.stock.queries import available, held_by_others, unsellable_reason
from models.units import money

COMPLETABLE = (("register", "open"), ("web", "ready"))


@dataclass(frozen=True)
class Payment:
    """A tender to take: cash records what was handed over (change is worked out)."""

    kind: str
    amount_cents: int
    tendered_cents: int | None = None
    reference: str | None = None


def plan_payments(
    total_cents: int,
    *,
    cash_given_cents: int | None,
    debit_cents: int | None = None,
    debit_reference: str | None = None,
) -> list[Payment]:
    """Turn what the budtender entered (debit part, cash handed over) into tenders for the total."""
    debit = debit_cents or 0
    if debit < 0:
        raise SaleError("A debit amount cannot be negative.")
    if debit > total_cents:
        raise SaleError(f"Debit {money(debit)} is more than the {money(total_cents)} due.")
    payments = []
    if debit:
        payments.append(Payment("debit", debit, reference=(debit_reference or None)))
    cash_due = total_cents - debit
    if cash_due > 0:
        given = cash_given_cents or 0
        if given < cash_due:
            if debit:
                raise SaleError(
                    f"{money(cash_due)} is left after debit: enter the cash handed over."
                )
            raise SaleError(
                f"Cash given {money(given)} is less than the {money(cash_due)} due."
                if given
                else f"Enter the cash handed over ({money(cash_due)} due), or take debit."
            )
        payments.append(Payment("cash", cash_due, tendered_cents=given))
    return payments


def _check_payments(payments: Sequence[Payment], total: int, drawer: CashDrawer | None, store_id):
    paid = 0
    for payment in payments:
        if payment.kind not in TENDER_KINDS:
            raise SaleError(f"Unknown tender {payment.kind!r}.")
        if payment.amount_cents <= 0:
            raise SaleError("Every tender needs an amount above zero.")
        if payment.kind == "cash":
            if payment.tendered_cents is None or payment.tendered_cents < payment.amount_cents:
                raise SaleError("Cash handed over must cover the cash part of the sale.")
            if drawer is None or not drawer.is_open or drawer.store_id != store_id:
                raise SaleError("Open a cash drawer on this register before taking cash.")
        elif payment.tendered_cents not in (None, payment.amount_cents):
            raise SaleError("Only cash gives change.")
        paid += payment.amount_cents
    if paid != total:
        raise SaleError(
            f"The tenders add up to {money(paid)} but the sale is {money(total)}. "
            "Enter the payment again."
        )


def lock_sale(order_id: int) -> Order:
    """Lock a sale for a change and read it again (lines and tenders too)."""
    order = db.session.scalars(
        select(Order)
        .where(Order.id == order_id)
        # NO KEY UPDATE: enough to serialize writers of this order, while rows that only point
        # at it (its lines, tenders, reports) can still be written by others.
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).one()
    # Lines and tenders read before the lock may be stale (another tablet); read them again.
    db.session.expire(order, ["lines", "tenders"])
    return order


def move_stock(
    package: Package,
    delta: int,
    kind: str,
    order: Order,
    user: User,
    *,
    reason_code: str | None = None,
    note: str | None = None,
) -> StockMovement:
    """Move a package's stock for a sale, refusing (409) a decrement the shelf no longer has."""
    try:
        return move(
            package,
            delta,
            kind,
            order_id=order.id,
            user_id=user.id,
            reason_code=reason_code,
            note=note,
        )
    except OutOfStock as exc:
        raise StockConflict(
            f"Out of stock: package {package.tag} ({package.product.name}) was just sold out."
        ) from exc


def complete_sale(
    order: Order,
    tenders: Sequence[Payment],
    client_token: str,
    budtender: User,
    *,
    drawer: CashDrawer | None = None,
) -> Order:
    """Complete a register sale or a ready web order in the caller's transaction; idempotent.

    The same client_token again returns the sale it completed. Raises StockConflict (409) when
    the shelf cannot cover it, LimitConflict (409) over a limit, SaleError (422) otherwise.
    """
    token = _checked_token(client_token)
    earlier = _completed_by_token(order, token)
    if earlier is not None:
        return earlier
    order = lock_sale(order.id)
    if order.status == "completed":
        if order.client_token == token:
            return order
        raise SaleError("This sale was already completed on another register.", status=409)
    lines = _completable_lines(order)
    if order.customer_id is not None:
        _lock_customer(order.customer_id)
    now = utcnow()
    for line in lines:
        snapshot(line, db.session.get_one(Product, line.product_id))
    refuse_if_over(recompute(order, at=now))
    _check_payments(tenders, order.total_cents, drawer, order.store_id)
    needed: dict[int, int] = defaultdict(int)
    for line in lines:
        if line.package_id is not None:
            needed[line.package_id] += line.quantity
    packages = lock_packages(needed)
    if drawer is not None and any(p.kind == "cash" for p in tenders):
        drawer = _share_open_drawer(drawer)
    today = order.store.business_date(now)
    _check_shelf(order, packages, needed, now, today)
    for package in packages:
        move_stock(package, -needed[package.id], "sale", order, budtender)
    release_holds(order.id, now)
    _add_tenders(order, tenders, drawer)
    order.status = "completed"
    order.client_token = token
    order.budtender_id = budtender.id
    order.completed_at = now
    order.business_date = today
    db.session.flush()
    queue_report("sale", order.store, order=order)
    return order


def _checked_token(client_token: str | None) -> str:
    token = (client_token or "").strip()
    if not token or len(token) > 64:
        raise SaleError("This payment form is stale; reload the sale and try again.")
    return token


def _completed_by_token(order: Order, token: str) -> Order | None:
    """Return the sale this token already completed (a retried submit), or None."""
    earlier = db.session.scalar(select(Order).where(Order.client_token == token))
    if earlier is None:
        return None
    if earlier.id != order.id:
        raise SaleError("This payment was already used for another sale; reload the sale.")
    return earlier if earlier.status in ("completed", "voided") else None


def _completable_lines(order: Order) -> list[OrderLine]:
    """Return the lines of a locked order that may be completed now, or refuse it."""
    if (order.channel, order.status) not in COMPLETABLE:
        raise SaleError(f"This order is {order.status} and cannot be completed.", status=409)
    if order.id_checked_at is None:
        raise SaleError("Check the customer's ID before completing the sale.")
    if order.customer_class == "medical" and (
        order.customer is None or not order.customer.has_verified_medical_card(order.store)
    ):
        # The card was changed or refused since check-in: a patient sale needs a checked card.
        raise SaleError(
            "This customer's medical card is no longer verified, so this cannot be a medical "
            "sale. Verify the card on their record, or check them in again for adult use.",
            status=409,
        )
    lines = list(order.lines)
    if not lines:
        raise SaleError("Add at least one item before taking payment.")
    missing = [line.name for line in lines if line.package_id is None]
    if missing:
        raise SaleError(f"{missing[0]} has no package yet; pack it before completing.")
    return lines


def _lock_customer(customer_id: int) -> None:
    # Two sales to one customer at once must not both fit under the same limit.
    # NO KEY UPDATE: it serializes with the online checkout's customer lock but still lets
    # unrelated rows that reference the customer (a new check-in) be written meanwhile.
    db.session.scalars(
        select(Customer.id).where(Customer.id == customer_id).with_for_update(key_share=True)
    ).one()


def _share_open_drawer(drawer: CashDrawer) -> CashDrawer:
    # Checked again under a shared lock, taken after the packages as voids take theirs: a
    # drawer closed meanwhile refuses the cash, and a close waits for the sales in flight.
    drawer = share_lock(drawer)
    if not drawer.is_open:
        raise SaleError("This cash drawer was just closed; open a drawer to take cash.")
    return drawer


def _check_shelf(
    order: Order,
    packages: Sequence[Package],
    needed: Mapping[int, int],
    now: datetime,
    today: date,
) -> None:
    """Refuse the sale when a locked package cannot be sold or has too little free."""
    held = held_by_others(list(needed), order.id, now)
    for package in packages:
        reason = unsellable_reason(package, today)
        if reason:
            raise StockConflict(reason)
        free = available(package, held)
        if needed[package.id] > free:
            raise StockConflict(
                f"Out of stock: package {package.tag} ({package.product.name}) has "
                f"{amount_label(package, max(free, 0))} left; this sale needs "
                f"{amount_label(package, needed[package.id])}."
            )


def _add_tenders(order: Order, tenders: Sequence[Payment], drawer: CashDrawer | None) -> None:
    for payment in tenders:
        cash = payment.kind == "cash"
        tendered = payment.tendered_cents if cash else None
        order.tenders.append(
            Tender(
                kind=payment.kind,
                amount_cents=payment.amount_cents,
                tendered_cents=tendered,
                change_cents=(tendered or 0) - payment.amount_cents if cash else 0,
                reference=(payment.reference or None),
                drawer_id=drawer.id if cash and drawer is not None else None,
            )
        )


def change_due(order: Order) -> int:
    """Return the change handed back on a completed sale."""
    return sum(t.change_cents for t in order.tenders)


def quick_cash(total_cents: int) -> list[int]:
    """Return the amounts a customer is likely to hand over: exact, then round notes above."""
    if total_cents <= 0:
        return []
    amounts = [total_cents]
    for step in (500, 1000, 2000, 5000, 10000):
        rounded = -(-total_cents // step) * step
        if rounded not in amounts:
            amounts.append(rounded)
    return sorted(amounts)[:4]
