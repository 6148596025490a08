"""Placing an online order: re-check stock and limits, hold stock per line, in one transaction."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from extensions import db
from models.base import utcnow
from models.catalog.products import Product
from models.infra import audit
from models.online.cart import (
    Cart,
    CartLine,
    age_refusal,
    buyer_class,
    check_items,
    line_price_cents,
)
from models.online.pickup import Slot, find_slot, hold_deadline
from models.people.customers import Customer
from models.rules.purchase_limits import cart_line
from models.sales.orders import Order, OrderLine
from models.stock.management import hold, lock_sellable, release_expired_holds, release_holds
from models.stock.packages import Package
from models.stock.queries import available, fefo_key, held_by_others
from models.stores.store import Store
from models.units import grams

ACTIVE_STATUSES = ("placed", "accepted", "packed", "ready")
TERMINAL_STATUSES = ("completed", "cancelled", "expired", "voided")
CANCELLABLE_STATUSES = ("placed", "accepted")
STATUS_LABELS = {
    "placed": "Placed",
    "accepted": "Accepted",
    "packed": "Being packed",
    "ready": "Ready for pickup",
    "completed": "Picked up",
    "cancelled": "Cancelled",
    "expired": "Expired",
    "voided": "Voided",
    "open": "Open",
}
# The customer's view of progress; packing is part of "accepted" for them.
STEPS = ("placed", "accepted", "ready", "completed")


class CheckoutRefused(ValueError):
    """The order cannot be placed as asked; the message says why (the form shows it)."""

    status = 422


class CheckoutConflict(CheckoutRefused):
    """Stock, a limit or the slot's capacity changed under the customer: nothing was placed."""

    status = 409


@dataclass(frozen=True)
class Placed:
    """The outcome of a checkout: the order, and whether an earlier submit had placed it."""

    order: Order
    replayed: bool


def _lock_store(store: Store) -> None:
    # One checkout at a time per store, so a slot's last place is given once. SQLite already
    # runs writers one at a time (BEGIN IMMEDIATE); FOR UPDATE is dropped there. NO KEY UPDATE
    # (key_share) still lets a register sale insert rows that reference the store (a foreign key
    # check takes KEY SHARE): with a plain FOR UPDATE, a sale holding a package we wait for and
    # waiting for this store row deadlocks.
    db.session.execute(select(Store.id).where(Store.id == store.id).with_for_update(key_share=True))


def _replay(key: str, customer: Customer) -> Order | None:
    order = db.session.scalar(select(Order).where(Order.idempotency_key == key))
    if order is None:
        return None
    if order.customer_id != customer.id:
        raise CheckoutRefused("This checkout form is no longer valid. Reload the page.")
    return order


def order_for_key(key: str, customer: Customer) -> Order | None:
    """Return the order an idempotency key already placed for this customer, if any."""
    order = db.session.scalar(select(Order).where(Order.idempotency_key == key))
    return order if order is not None and order.customer_id == customer.id else None


def allocate(
    store: Store, wanted: dict[int, int], now: datetime
) -> tuple[dict[int, list[tuple[Package, int]]], dict[int, int]]:
    """Split each product's wanted amount over its packages, first to expire first, under lock.

    Returns the allocation per product and, for each product that falls short, what is free.
    """
    packages = lock_sellable(store.id, wanted, store.business_date(now))
    # Holds are read after the locks, so a hold committed while we waited is counted.
    held = held_by_others([p.id for p in packages], None, now)
    by_product: dict[int, list[Package]] = defaultdict(list)
    for package in packages:
        by_product[package.product_id].append(package)
    allocation: dict[int, list[tuple[Package, int]]] = {}
    short: dict[int, int] = {}
    for product_id, need in wanted.items():
        free_total = 0
        taken = []
        for package in sorted(by_product[product_id], key=fefo_key):
            free = available(package, held)
            if free <= 0:
                continue
            free_total += free
            if need > 0:
                take = min(need, free)
                taken.append((package, take))
                need -= take
        if need > 0:
            short[product_id] = free_total
        allocation[product_id] = taken
    return allocation, short


def _shortage_message(product: Product, free: int) -> str:
    if free <= 0:
        return f"{product.name} sold out while you were shopping."
    if product.sold_by == "weight":
        return f"Only {grams(free)} of {product.name} is left."
    return f"Only {free} of {product.name} {'is' if free == 1 else 'are'} left."


def place_order(
    cart: Cart, customer: Customer, slot_key: str, idempotency_key: str, now: datetime | None = None
) -> Placed:
    """Turn a cart into an order with a hold on stock for every line, or refuse with the reason."""
    now = now or utcnow()
    store = cart.store
    _lock_store(store)
    replay = _replay(idempotency_key, customer)
    if replay is not None:
        return Placed(replay, True)
    cart, earlier = _locked_cart(cart, customer)
    if earlier is not None:
        return Placed(earlier, True)
    lines = _orderable_lines(cart, store, customer)
    slot = _open_slot(store, slot_key, now)
    allocation = _allocate_lines(store, lines, now)
    items = [
        (line.product, line.quantity, line_price_cents(line.product, line.quantity))
        for line in lines
    ]
    # The sale happens at pickup, so daily and monthly windows are those of the pickup day.
    check = check_items(store, items, customer, at=slot.starts_at)
    if not check.verdict.ok:
        raise CheckoutConflict(" ".join(check.verdict.messages))
    deadline = hold_deadline(store, slot.ends_at)
    taxes = check.taxes
    order = Order(
        store_id=store.id,
        channel="web",
        status="placed",
        customer_id=customer.id,
        customer_class=buyer_class(store, customer),
        pickup_at=slot.starts_at,
        pickup_until=slot.ends_at,
        hold_expires_at=deadline,
        idempotency_key=idempotency_key,
        subtotal_cents=taxes.subtotal_cents,
        tax_cents=taxes.tax_cents,
        total_cents=taxes.total_cents,
        tax_lines=[t.to_dict() for t in taxes.lines],
        business_date=store.business_date(slot.starts_at),
    )
    db.session.add(order)
    for product, quantity, price in items:
        order.lines.append(snapshot_line(product, quantity, price))
    db.session.flush()
    for taken in allocation.values():
        for package, quantity in taken:
            hold(order.id, package.id, quantity, deadline)
    cart.order_id = order.id
    audit.record(
        "order.placed",
        store_id=store.id,
        customer_id=customer.id,
        obj=order,
        lines=len(items),
        pickup_at=slot.starts_at.isoformat(),
    )
    return Placed(order, False)


def _locked_cart(cart: Cart, customer: Customer) -> tuple[Cart, Order | None]:
    """Read the cart again under a lock; return it with the order it already became, if any."""
    # A double-click may have turned it into an order meanwhile.
    locked = db.session.scalars(
        select(Cart)
        .where(Cart.id == cart.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if locked.order_id is None:
        return locked, None
    order = db.session.get(Order, locked.order_id)
    if order is not None and order.customer_id == customer.id:
        return locked, order
    raise CheckoutRefused("This cart was already ordered.")


def _orderable_lines(cart: Cart, store: Store, customer: Customer) -> list[CartLine]:
    """Return the cart's lines once the customer may order them here, or refuse."""
    lines = list(cart.lines)
    if not lines:
        raise CheckoutRefused("Your cart is empty.")
    refusal = age_refusal(store, customer)
    if refusal:
        raise CheckoutConflict(refusal)
    # Two orders of one customer (at two stores of a chain) must not share one allotment.
    db.session.execute(
        select(Customer.id).where(Customer.id == customer.id).with_for_update(key_share=True)
    )
    return lines


def _open_slot(store: Store, slot_key: str, now: datetime) -> Slot:
    """Return the pickup slot the customer chose while it still takes orders, or refuse."""
    slot = find_slot(store, slot_key, now)
    if slot is None:
        raise CheckoutRefused("That pickup time is no longer offered. Please choose another.")
    if slot.full:
        raise CheckoutConflict("That pickup time has just filled up. Please choose another.")
    return slot


def _allocate_lines(
    store: Store, lines: list[CartLine], now: datetime
) -> dict[int, list[tuple[Package, int]]]:
    """Split the lines over packages under lock, or refuse what left the menu or ran short."""
    for line in lines:
        product = line.product
        if not (product.active and product.online_visible and product.store_id == store.id):
            raise CheckoutConflict(f"{product.name} is no longer on the menu. Remove it to go on.")
    wanted = {line.product_id: line.quantity for line in lines}
    allocation, short = allocate(store, wanted, now)
    if short:
        products = {line.product_id: line.product for line in lines}
        raise CheckoutConflict(
            " ".join(_shortage_message(products[pid], free) for pid, free in short.items())
        )
    return allocation


def snapshot_line(product: Product, quantity: int, price_cents: int) -> OrderLine:
    """Return an order line that keeps the product as it is now (name, price, potency)."""
    by_weight = product.sold_by == "weight"
    return OrderLine(
        product_id=product.id,
        name=product.name,
        brand=product.brand,
        sku=product.sku,
        category=product.category,
        limit_category=product.limit_category,
        quantity=quantity,
        unit="grams" if by_weight else "each",
        unit_price_cents=product.price_cents,
        net_weight_mg=None if by_weight else product.net_weight_mg,
        thc_mg=_line_thc(product, quantity) if by_weight else product.thc_mg,
        thc_pct_bp=product.thc_pct_bp,
        line_total_cents=price_cents,
    )


def _line_thc(product: Product, milligrams: int) -> int | None:
    return cart_line(product, milligrams).thc_mg


def lock_order(order_id: int) -> Order | None:
    """Return an order locked for a status change (re-read, so a concurrent change is seen)."""
    return db.session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )


def cancel_order(order: Order, customer: Customer, now: datetime | None = None) -> Order:
    """Cancel a customer's order before it is packed, releasing its holds."""
    now = now or utcnow()
    locked = lock_order(order.id)
    if locked is None or locked.customer_id != customer.id:
        raise CheckoutRefused("We could not find that order.")
    order = locked
    if display_status(order, now) not in CANCELLABLE_STATUSES:
        raise CheckoutConflict(
            "This order can no longer be cancelled online: it is already "
            f"{STATUS_LABELS[display_status(order, now)].lower()}. Please call the store."
        )
    order.status = "cancelled"
    order.cancelled_at = now
    order.cancel_reason = "cancelled by the customer"
    release_holds(order.id, now)
    audit.record("order.cancelled", store_id=order.store_id, customer_id=customer.id, obj=order)
    return order


def display_status(order: Order, now: datetime | None = None) -> str:
    """Return the order's status now: an unfinished order past its hold deadline is expired."""
    # The release job writes "expired"; until it runs the status already reads true.
    now = now or utcnow()
    if (
        order.status in ACTIVE_STATUSES
        and order.hold_expires_at is not None
        and order.hold_expires_at <= now
    ):
        return "expired"
    return order.status


def is_terminal(status: str) -> bool:
    """Say whether an order in this status changes no more (the status page stops polling)."""
    return status in TERMINAL_STATUSES


def step_index(status: str) -> int:
    """Return how far along the customer's steps an order is (packed counts as accepted)."""
    if status == "packed":
        status = "accepted"
    return STEPS.index(status) if status in STEPS else -1


def release_expired(now: datetime | None = None) -> int:
    """Expire unfinished online orders past their deadline and release their holds; return count."""
    now = now or utcnow()
    due = list(
        db.session.scalars(
            select(Order)
            .where(
                Order.channel == "web",
                Order.status.in_(ACTIVE_STATUSES),
                Order.hold_expires_at <= now,
            )
            .order_by(Order.id)
            .with_for_update(skip_locked=True, key_share=True)
        )
    )
    for order in due:
        order.status = "expired"
        order.expired_at = now
        release_holds(order.id, now)
        audit.record("order.expired", store_id=order.store_id, obj=order)
    # Holds of orders that ended some other way and were left unreleased are tidied up too.
    release_expired_holds(now)
    return len(due)


def online_orders(customer: Customer, limit: int = 50) -> list[Order]:
    """Return a customer's online orders, newest first (walk-in sales are not among them)."""
    return list(
        db.session.scalars(
            select(Order)
            .where(Order.customer_id == customer.id, Order.channel == "web")
            .order_by(Order.id.desc())
            .limit(limit)
        )
    )


def customer_order(order_id: int, customer: Customer | None) -> Order | None:
    """Return one of the customer's orders, or None for anyone else's (the view answers 404)."""
    if customer is None:
        return None
    order = db.session.get(Order, order_id)
    # A walk-in sale at the register is not an online order, even for an account holder.
    if order is None or order.customer_id != customer.id or order.channel != "web":
        return None
    return order
