"""Online orders at the register: accept, pack by scanning the real packages, ready, ID, pickup.

Packing moves an order's holds onto the packages the budtender scanned; the pickup is the same
completion as a walk-in sale (models.sales.completion.complete_sale), which releases the holds.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from extensions import db
from models.base import utcnow
from models.infra import audit
from models.online.checkout import allocate, lock_order
from models.online.order_mail import send_order_ready
from models.people.customers import Customer, id_number_hash
from models.people.id_scan import CheckInRefused, IdDocument, check_eligibility
from models.people.identity import last_names_match, names_match, record_first_id, same_id_number
from models.people.users import User
from models.rules.purchase_limits import pack_for
from models.sales.cash_drawer import CashDrawer
from models.sales.completion import Payment, complete_sale
from models.sales.errors import SaleError, StockConflict
from models.sales.orders import Order, OrderLine
from models.sales.scanning import find_package
from models.sales.totals import recompute
from models.stock.management import held_packages, hold, lock_packages, release_holds
from models.stock.queries import available, held_by_others, unsellable_reason
from models.units import grams

# A weighed line may come out a little over what was ordered, never by more than this.
OVERWEIGH_PERCENT = 10
REGISTER_STATUSES = ("placed", "accepted", "packed", "ready")


class FulfilmentError(SaleError):
    """A step that cannot be taken now, with the message for the budtender (422 by default)."""


@dataclass(frozen=True)
class Packing:
    """An online order's lines split into what is packed and what still waits for a scan."""

    packed: list[OrderLine]
    waiting: list[OrderLine]

    @property
    def done(self) -> bool:
        """Say whether every line has its package."""
        return bool(self.packed) and not self.waiting


def packing(order: Order) -> Packing:
    """Return which lines of an order are packed."""
    lines = list(order.lines)
    return Packing(
        [line for line in lines if line.package_id is not None],
        [line for line in lines if line.package_id is None],
    )


def _locked(order: Order, *statuses: str) -> Order:
    locked = lock_order(order.id)
    if locked is None or locked.channel != "web":
        raise FulfilmentError("This is not an online order.", status=404)
    if locked.status not in statuses:
        raise FulfilmentError(
            f"This order is {locked.status}; that step is not possible now.", status=409
        )
    if locked.hold_expires_at is not None and locked.hold_expires_at <= utcnow():
        raise FulfilmentError(
            "This order's hold ran out (the customer did not come in time); its items are "
            "back on the shelf.",
            status=409,
        )
    return locked


def accept(order: Order, user: User) -> Order:
    """Take an online order on: the customer sees "accepted" and can no longer cancel it online."""
    order = _locked(order, "placed")
    order.status = "accepted"
    order.accepted_at = utcnow()
    order.budtender_id = user.id
    audit.record("online.accepted", store_id=order.store_id, user_id=user.id, obj=order)
    return order


def _line(order: Order, line_id: int) -> OrderLine:
    line = next((x for x in order.lines if x.id == line_id), None)
    if line is None:
        raise FulfilmentError("That line is not on this order.", status=404)
    return line


def _rebalance_holds(order: Order, product_id: int, now: datetime) -> int:
    """Hold exactly what the order's lines of a product need: packed lines on their packages,
    the rest wherever stock is free. Return how much could not be held."""
    expires = order.hold_expires_at
    if expires is None:
        raise FulfilmentError("This order has no hold deadline; it cannot hold stock.")
    lines = [line for line in order.lines if line.product_id == product_id]
    release_holds(order.id, now, product_id=product_id)
    packed: dict[int, int] = defaultdict(int)
    for line in lines:
        if line.package_id is not None:
            packed[line.package_id] += line.quantity
    for package_id, quantity in packed.items():
        hold(order.id, package_id, quantity, expires)
    db.session.flush()
    waiting = sum(line.quantity for line in lines if line.package_id is None)
    if not waiting:
        return 0
    allocation, short = allocate(order.store, {product_id: waiting}, now)
    for package, quantity in allocation[product_id]:
        hold(order.id, package.id, quantity, expires)
    return waiting - sum(q for _, q in allocation[product_id]) if short else 0


def pack_line(
    order: Order, line_id: int, scanned: str, user: User, weighed_mg: int | None = None
) -> str | None:
    """Pack a line from the package the budtender scanned; the tag must be of the line's product.

    A line sold by the unit takes what the package has free (the rest is split off to scan from
    another package); a weighed line needs its weight from the scale, from one package. Returns
    a warning when part of the order can no longer be held.
    """
    now = utcnow()
    order = _locked(order, "accepted")
    line = _line(order, line_id)
    if line.package_id is not None:
        raise FulfilmentError(f"{line.name} is already packed from {line.package_tag}.", status=409)
    package, _ = find_package(order.store, scanned)
    if package.product_id != line.product_id:
        raise StockConflict(
            f"Package {package.tag} is {package.product.name}, not {line.name}. "
            "Scan a package of the ordered product."
        )
    reason = unsellable_reason(package, order.store.business_date(now))
    if reason:
        raise StockConflict(reason)
    # Lock the scanned package with the others this order holds, in id order; read it again.
    lock_packages({package.id, *held_packages(order.id)})
    already_packed = sum(
        x.quantity for x in order.lines if x.package_id == package.id and x is not line
    )
    free = available(package, held_by_others([package.id], order.id, now)) - already_packed
    if line.unit == "grams":
        if weighed_mg is None or weighed_mg <= 0:
            raise FulfilmentError(f"Weigh {line.name} and enter the weight in grams.")
        ordered = line.ordered_quantity or line.quantity
        ceiling = ordered * (100 + OVERWEIGH_PERCENT) // 100
        if weighed_mg > ceiling:
            raise FulfilmentError(
                f"{grams(weighed_mg)} is more than the {grams(ordered)} ordered; "
                "take some off the scale."
            )
        if weighed_mg > free:
            raise StockConflict(
                f"Package {package.tag} has only {grams(max(free, 0))} free. "
                "Weigh from another package."
            )
        line.ordered_quantity = ordered
        line.quantity = weighed_mg
        take = weighed_mg
    else:
        if free <= 0:
            raise StockConflict(
                f"Package {package.tag} has none of {line.name} free. Scan another package."
            )
        take = min(line.quantity, free)
        if take < line.quantity:
            rest = _split(order, line, line.quantity - take)
            line.quantity = take
            rest.ordered_quantity = None
    line.package_id = package.id
    line.package_tag = package.tag
    short = _rebalance_holds(order, line.product_id, now)
    recompute(order, at=now)
    warning = None
    if short:
        warning = (
            f"Not enough {line.name} is left for the rest of this order. Remove what cannot be "
            "filled, with the customer's agreement."
        )
    if packing(order).done:
        order.status = "packed"
        order.packed_at = now
    audit.record(
        "online.packed",
        store_id=order.store_id,
        user_id=user.id,
        obj=order,
        line=line.id,
        package=package.tag,
        quantity=take,
    )
    return warning


def _split(order: Order, line: OrderLine, quantity: int) -> OrderLine:
    """Split `quantity` off a unit line into a new unpacked line with the same snapshot."""
    copy = OrderLine(
        product_id=line.product_id,
        name=line.name,
        brand=line.brand,
        sku=line.sku,
        category=line.category,
        limit_category=line.limit_category,
        quantity=quantity,
        unit=line.unit,
        unit_price_cents=line.unit_price_cents,
        net_weight_mg=line.net_weight_mg,
        thc_mg=line.thc_mg,
        thc_pct_bp=line.thc_pct_bp,
        line_total_cents=line.unit_price_cents * quantity,
    )
    order.lines.append(copy)
    db.session.flush()
    return copy


def unpack_line(order: Order, line_id: int, user: User) -> str | None:
    """Take a packed line off its package (the wrong jar was scanned); the hold moves back."""
    order = _locked(order, "accepted", "packed")
    line = _line(order, line_id)
    if line.package_id is None:
        raise FulfilmentError(f"{line.name} is not packed yet.", status=409)
    tag = line.package_tag
    line.package_id = None
    line.package_tag = None
    if line.ordered_quantity:
        line.quantity = line.ordered_quantity
    order.status = "accepted"
    order.packed_at = None
    short = _rebalance_holds(order, line.product_id, utcnow())
    recompute(order)
    audit.record(
        "online.unpacked", store_id=order.store_id, user_id=user.id, obj=order, package=tag
    )
    if short:
        return f"{line.name} can no longer be held in full; pack it now or remove it."
    return None


def mark_ready(order: Order, user: User) -> Order:
    """Put a packed order on the pickup shelf and tell the customer."""
    order = _locked(order, "packed")
    if not packing(order).done:
        raise FulfilmentError("Pack every line before marking the order ready.", status=409)
    order.status = "ready"
    order.ready_at = utcnow()
    send_order_ready(order)
    audit.record("online.ready", store_id=order.store_id, user_id=user.id, obj=order)
    return order


def remove_line(order: Order, line_id: int, user: User, reason: str, agreed: bool) -> Order:
    """Drop a line the store cannot fill, once the customer agreed; an empty order is cancelled."""
    if not agreed:
        raise FulfilmentError("Ask the customer first, and tick that they agreed.")
    reason = (reason or "").strip()
    if not reason:
        raise FulfilmentError("Say why the line cannot be filled.")
    order = _locked(order, *REGISTER_STATUSES)
    line = _line(order, line_id)
    product_id, name, quantity = line.product_id, line.name, line.quantity
    order.lines.remove(line)
    db.session.flush()
    now = utcnow()
    if not order.lines:
        order.status = "cancelled"
        order.cancelled_at = now
        order.cancel_reason = f"nothing left to fill: {reason}"[:200]
        release_holds(order.id, now)
    else:
        _rebalance_holds(order, product_id, now)
        recompute(order, at=now)
        if order.status == "accepted" and packing(order).done:
            order.status = "packed"
            order.packed_at = now
    audit.record(
        "online.line_removed",
        store_id=order.store_id,
        user_id=user.id,
        customer_id=order.customer_id,
        obj=order,
        reason=reason[:300],
        item=name,
        quantity=quantity,
        customer_agreed=True,
    )
    return order


def card_unchecked(order: Order) -> bool:
    """Say whether the customer picking up holds a card nobody has checked (at this store)."""
    customer = order.customer
    return (
        customer is not None
        and order.store.sells_medical
        and customer.has_card_on_file
        and not customer.has_verified_medical_card(order.store)
    )


def _check_person(
    customer: Customer,
    document: IdDocument | None,
    last_name: str | None,
    id_number: str | None,
) -> str:
    """Refuse an ID that is not the customer's by name or number; return the ID's number."""
    if document is not None:
        if not names_match(customer, document.first_name, document.last_name, document.middle_name):
            raise FulfilmentError(
                f"The name on the ID ({document.name}) is not {customer.name}'s. Only the "
                "customer who ordered can pick the order up.",
                status=409,
            )
        number = document.id_number
    else:
        if not last_name or not last_name.strip() or not id_number or not id_number.strip():
            raise FulfilmentError("Type the last name and the ID number from the ID too.")
        if not last_names_match(customer, last_name):
            raise FulfilmentError(
                f"The last name on the ID is not {customer.name}'s. Only the customer who "
                "ordered can pick the order up.",
                status=409,
            )
        number = id_number
    if same_id_number(customer, number) is False:
        raise FulfilmentError(
            f"The ID number is not the one on {customer.name}'s record. If they have a new ID, "
            "a manager can update the record first (Returning customer → Edit identity).",
            status=409,
        )
    return number


def check_id(
    order: Order,
    user: User,
    *,
    document: IdDocument | None = None,
    birth: date | None = None,
    id_expires: date | None = None,
    last_name: str | None = None,
    id_number: str | None = None,
) -> str:
    """Check the ID of whoever picks the order up; return the class they buy under now."""
    order = _locked(order, "ready")
    customer: Customer | None = order.customer
    if customer is None:
        raise FulfilmentError("This order has no customer on file; it cannot be handed over.")
    if document is not None:
        birth, id_expires = document.date_of_birth, document.expires
    if birth is None or id_expires is None:
        raise FulfilmentError("Scan the ID, or type its date of birth and expiry date.")
    number = _check_person(customer, document, last_name, id_number)
    if birth != customer.date_of_birth:
        raise FulfilmentError(
            f"The ID's date of birth does not match {customer.name}'s account. Only the "
            "customer who ordered can pick the order up.",
            status=409,
        )
    store = order.store
    today = store.business_date()
    verified = customer.has_verified_medical_card(store, today)
    try:
        eligibility = check_eligibility(
            birth=birth,
            id_expires=id_expires,
            today=today,
            card_expires=customer.medical_card_expires if verified else None,
            sells_adult_use=store.sells_adult_use,
            sells_medical=store.sells_medical,
            pack=pack_for(store),
        )
    except CheckInRefused as refusal:
        raise FulfilmentError(str(refusal), status=409) from refusal
    state = document.state if document is not None else (customer.id_state or store.state)
    record_first_id(customer, number, state, store, user)
    customer.id_expires = id_expires
    order.id_checked_at = utcnow()
    order.id_number_hash = id_number_hash(number)
    order.customer_class = eligibility.customer_class
    recompute(order)
    audit.record(
        "online.id_checked",
        store_id=store.id,
        user_id=user.id,
        customer_id=customer.id,
        obj=order,
        method="scan" if document is not None else "manual",
        customer_class=eligibility.customer_class,
    )
    return eligibility.customer_class


def hand_over(
    order: Order,
    payments: Sequence[Payment],
    client_token: str,
    user: User,
    drawer: CashDrawer | None = None,
) -> Order:
    """Take payment and complete the pickup: the same one-transaction completion as a walk-in."""
    if order.status == "completed":
        return complete_sale(order, payments, client_token, user, drawer=drawer)
    _locked(order, "ready")
    return complete_sale(order, payments, client_token, user, drawer=drawer)
