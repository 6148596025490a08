"""The register sale: an open order built line by line, then completed in one transaction.

An open order (channel "register", status "open") holds the lines, so a reload or another tablet
picks up the work where it was. Every change recomputes the limits and taxes through the same
engine as the online cart. Completing locks the order, the customer and the packages (in id
order, so two registers never wait on each other in a circle), decrements stock with conditional
updates, and writes movements, tenders, the order and the state report in the caller's single
transaction; the caller commits.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import attributes, joinedload
from sqlalchemy.orm.util import identity_key

from extensions import db
from models import units
from models.base import utcnow
from models.catalog.products import Product
from models.compliance.outbox import queue_report, sale_report_status
from models.infra import audit
from models.infra.numbers import parse_count
from models.people.customers import Customer, patient_id_for
from models.people.id_scan import looks_like_aamva
from models.people.users import User
from models.rules.purchase_limits import CartCheck, check_cart
from models.sales.cash_drawer import CashDrawer, DrawerError, share_lock, take_out
from models.sales.orders import TENDER_KINDS, Order, OrderLine, Tender
from models.sales.returns import (
    REFUND_KINDS,
    RefundRoom,
    SaleReturn,
    SaleReturnLine,
    approval_reasons,
    line_payments,
    line_refund,
    refund_room,
)
from models.stock.packages import Package, Reservation, StockMovement
from models.stores.store import Store
from models.units import money

MAX_EACH = 999
MAX_GRAMS_MG = 1_000_000
DEFAULT_GRAMS_MG = 1000
# Far above any real sale, and well inside a 32-bit integer column in cents.
MAX_MONEY_DOLLARS = 1_000_000
COMPLETABLE = (("register", "open"), ("web", "ready"))
REPORT_BADGES = {
    "pending": ("queued", "Queued for the state"),
    "sent": ("reported", "Reported to the state"),
    "recorded": ("recorded", "Recorded (dry run)"),
    "needs_attention": ("attention", "Needs attention"),
    "dead": ("attention", "Needs attention"),
}


class SaleError(Exception):
    """A change to a sale that cannot be made, with the message to show and the HTTP status."""

    status = 422

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class StockConflict(SaleError):
    """The shelf cannot cover the sale: unknown stock, on hold, failed lab, out of stock."""

    status = 409


class LimitConflict(SaleError):
    """The change would break a purchase limit or sell a product the limit engine refuses."""

    status = 409


class NeedsApproval(SaleError):
    """A discount or a return beyond the store's thresholds needs a manager's PIN."""


@dataclass(frozen=True)
class Payment:
    """A tender to take: cash records what was handed over (change is worked out)."""

    kind: str
    amount_cents: int
    tendered_cents: int | None = None
    reference: str | None = None


@dataclass
class SaleState:
    """An open sale after a change: the order (totals saved) and the limit and tax check."""

    order: Order
    check: CartCheck
    changed: OrderLine | None = None

    @property
    def lines(self) -> list[OrderLine]:
        """Return the lines in the order they were added."""
        return list(self.order.lines)

    @property
    def ok(self) -> bool:
        """Say whether the sale may be completed as it stands."""
        return bool(self.order.lines) and self.check.verdict.ok


@dataclass(frozen=True)
class ReportBadge:
    """The state-report status of a sale, as the receipt shows it."""

    key: str
    label: str

    @property
    def final(self) -> bool:
        """Say whether the status can still change by itself (queued can)."""
        return self.key != "queued"


@dataclass(frozen=True)
class Proposal:
    """A product found by search and the package the register would sell it from."""

    product: Product
    package: Package | None
    available: int


@dataclass(frozen=True)
class ReturnItem:
    """Part of a sold line coming back: restocked to its package, or destroyed."""

    line: OrderLine
    quantity: int
    disposition: str


# Money and quantities --------------------------------------------------------------------------


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_cents(text: str | None) -> int | None:
    """Read dollars typed at the register ("12.5", "$1,200.00") as cents; None if empty."""
    cents = _typed(units.parse_money, text)
    if cents is not None and cents > MAX_MONEY_DOLLARS * 100:
        raise SaleError(f"“{text}” is more than a register handles; check the amount.")
    return cents


def parse_units(text: str | None, message: str = "Enter a whole number of units.") -> int:
    """Read a whole number of units typed by a person (the digits 0-9 only, so never ² or ٣)."""
    count = parse_count(text)
    if count is None:
        raise SaleError(message)
    return count


def parse_grams(text: str | None) -> int:
    """Read grams typed at the register ("3.5") as whole milligrams."""
    milligrams = _typed(units.parse_grams, text)
    if milligrams is None or milligrams > MAX_GRAMS_MG * 1000:
        raise SaleError(f"“{text or ''}” is not a weight in grams a sale can hold.")
    return milligrams


def parse_percent(text: str | None) -> int:
    """Read a percent typed at the register ("10", "12.5%") as hundredths of a percent."""
    hundredths = _typed(units.parse_percent, text)
    if hundredths is None or hundredths > 100_000:
        raise SaleError(f"“{text or ''}” is not a percent a discount can be.")
    return hundredths


def _typed(parse, text: str | None):
    try:
        return parse(text)
    except units.UnitError as exc:
        raise SaleError(str(exc)) from exc


def line_gross(line: OrderLine) -> int:
    """Return a line's price before discounts: units × price, or grams × price per gram."""
    if line.unit == "grams":
        return _half_up(Decimal(line.unit_price_cents) * Decimal(line.quantity) / 1000)
    return line.unit_price_cents * line.quantity


def discount_amount(kind: str | None, value: int | None, base_cents: int) -> int:
    """Return what a discount takes off a base: percent in hundredths, or cents, never more."""
    if not kind or not value or base_cents <= 0:
        return 0
    if kind == "percent":
        amount = _half_up(Decimal(base_cents) * Decimal(value) / Decimal(10000))
    else:
        amount = value
    return min(amount, base_cents)


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split cents over weights in proportion; leftover cents go to the largest remainders."""
    total = sum(weights)
    if amount <= 0 or total <= 0:
        return [0] * len(weights)
    shares = [amount * w // total for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for i in order[: amount - sum(shares)]:
        shares[i] += 1
    return shares


def _amount_label(package: Package, quantity: int) -> str:
    return units.grams(quantity) if package.unit == "grams" else units.amount(quantity, "each")


# Stock -----------------------------------------------------------------------------------------


def _live_holds_of_others():
    """Return the conditions for other orders' unexpired, unreleased reservations (bound later)."""
    # Order ids start at 1, so order_id 0 excludes no order.
    return (
        Reservation.released_at.is_(None),
        Reservation.expires_at > bindparam("now"),
        Reservation.order_id != bindparam("order_id"),
    )


def _held_sum(package_id):
    """Return SQL for what other orders' live reservations hold of a package."""
    return (
        select(func.coalesce(func.sum(Reservation.quantity), 0))
        .where(Reservation.package_id == package_id, *_live_holds_of_others())
        .scalar_subquery()
    )


@cache
def _held_query():
    """Build the holds read once (it runs on every menu search and sale)."""
    return (
        select(Reservation.package_id, func.sum(Reservation.quantity))
        .where(
            Reservation.package_id.in_(bindparam("ids", expanding=True)),
            *_live_holds_of_others(),
        )
        .group_by(Reservation.package_id)
    )


def held_by_others(package_ids: Sequence[int], order_id: int | None, now: datetime | None = None):
    """Return {package id: quantity} held by other orders' unexpired, unreleased reservations."""
    if not package_ids:
        return {}
    params = {"ids": list(package_ids), "now": now or utcnow(), "order_id": order_id or 0}
    return {package_id: int(held) for package_id, held in db.session.execute(_held_query(), params)}


def unsellable_reason(package: Package, today: date) -> str | None:
    """Return why a package cannot be sold right now, or None."""
    tag = package.tag
    if package.on_hold:
        why = f" ({package.hold_reason})" if package.hold_reason else ""
        return f"Package {tag} is on hold{why} and cannot be sold."
    if package.lab_status == "failed":
        return f"Package {tag} failed its lab test and cannot be sold."
    if package.lab_status != "passed":
        return f"Package {tag} is waiting for its lab test results and cannot be sold yet."
    if package.expires_on is not None and package.expires_on < today:
        return f"Package {tag} expired on {package.expires_on:%b %-d, %Y} and cannot be sold."
    if not package.product.active:
        return f"{package.product.name} is switched off on the menu and cannot be sold."
    return None


def _in_cart(order: Order, package_id: int, skip: OrderLine | None = None) -> int:
    return sum(
        line.quantity for line in order.lines if line.package_id == package_id and line is not skip
    )


def _check_stock(
    order: Order,
    package: Package,
    wanted: int,
    skip: OrderLine | None = None,
    held: int | None = None,
):
    reason = unsellable_reason(package, order.store.business_date())
    if reason:
        raise StockConflict(reason)
    if held is None:
        held = held_by_others([package.id], order.id).get(package.id, 0)
    free = package.quantity - held - _in_cart(order, package.id, skip)
    if wanted > free:
        left = max(free, 0)
        name = package.product.name
        if left == 0:
            raise StockConflict(f"Out of stock: package {package.tag} ({name}) has none left.")
        raise StockConflict(
            f"Out of stock: package {package.tag} ({name}) has only "
            f"{_amount_label(package, left)} left."
        )


def normalize_tag(text: str) -> str:
    """Return a scanned tag without spaces, dashes or the scanner's prefix/suffix noise."""
    return "".join(ch for ch in (text or "") if ch.isalnum()).upper()


@cache
def _package_by_tag():
    """Build the scan's read once: the package, its product, and what other orders hold of it."""
    return (
        select(Package, _held_sum(Package.id))
        .where(Package.store_id == bindparam("store_id"), Package.tag == bindparam("tag"))
        .options(joinedload(Package.product))
    )


def find_package(store: Store, scanned: str, order: Order | None = None) -> tuple[Package, int]:
    """Return a scanned tag's package and what other orders hold of it, or refuse the scan."""
    if looks_like_aamva(scanned):
        raise SaleError("That is a driver's license. Check customers in from the queue screen.")
    tag = normalize_tag(scanned)
    if not tag:
        raise SaleError("Scan a package tag, or search the menu.")
    params = {
        "store_id": store.id,
        "tag": tag,
        "now": utcnow(),
        "order_id": order.id if order else 0,
    }
    found = db.session.execute(_package_by_tag(), params).first()
    if found is not None:
        return found[0], int(found[1])
    elsewhere = db.session.scalar(
        select(func.count(Package.id)).where(Package.tag == tag, Package.store_id != store.id)
    )
    if elsewhere:
        raise StockConflict(
            f"Package {tag} belongs to another store's inventory and cannot be sold here."
        )
    raise SaleError(f"Unknown tag {tag}: no package with this tag in this store. Scan it again.")


def propose(store: Store, products: Sequence[Product], order: Order | None) -> list[Proposal]:
    """Pick the package each product would sell from: first-expiring first, then oldest."""
    if not products:
        return []
    today = store.business_date()
    ids = [p.id for p in products]
    packages = db.session.scalars(
        select(Package)
        .where(
            Package.product_id.in_(ids),
            Package.store_id == store.id,
            Package.quantity > 0,
            Package.on_hold.is_(False),
            Package.lab_status == "passed",
            or_(Package.expires_on.is_(None), Package.expires_on >= today),
        )
        .order_by(Package.expires_on.is_(None), Package.expires_on, Package.received_on, Package.id)
    ).all()
    held = held_by_others([p.id for p in packages], order.id if order else None)
    chosen: dict[int, tuple[Package, int]] = {}
    totals: dict[int, int] = {}
    for package in packages:
        free = package.quantity - held.get(package.id, 0)
        if order is not None:
            free -= _in_cart(order, package.id)
        if free <= 0:
            continue
        totals[package.product_id] = totals.get(package.product_id, 0) + free
        chosen.setdefault(package.product_id, (package, free))
    result = []
    for product in products:
        package, _ = chosen.get(product.id, (None, 0))
        result.append(Proposal(product, package, totals.get(product.id, 0)))
    return result


def search_menu(store: Store, text: str, order: Order | None, limit: int = 10) -> list[Proposal]:
    """Find active products by name, brand, strain or SKU, each with its proposed package."""
    text = (text or "").strip()
    if len(text) < 2:
        return []
    query = select(Product).where(Product.store_id == store.id, Product.active.is_(True))
    for word in text.lower().split():
        haystack = func.lower(
            Product.name + " " + Product.brand + " " + Product.sku + " " + Product.category
        )
        query = query.where(haystack.contains(word, autoescape=True))
    products = db.session.scalars(query.order_by(Product.name).limit(limit)).all()
    return propose(store, products, order)


# Building the sale -----------------------------------------------------------------------------


def _editable(order: Order) -> None:
    if order.channel != "register" or order.status != "open":
        raise SaleError("This sale is no longer open; start a new one from the queue.")


def _snapshot(line: OrderLine, product: Product) -> None:
    """Copy what the limit engine and the state report read from the product onto the line."""
    line.limit_category = product.limit_category
    line.thc_pct_bp = product.thc_pct_bp
    if line.unit == "grams":
        line.net_weight_mg = line.quantity
        line.thc_mg = (
            None
            if product.thc_pct_bp is None
            else _half_up(Decimal(line.quantity) * Decimal(product.thc_pct_bp) / 10000)
        )
    else:
        line.net_weight_mg = product.net_weight_mg
        line.thc_mg = product.thc_mg


def _check_quantity(unit: str, quantity: int) -> None:
    if unit == "grams":
        if quantity <= 0 or quantity > MAX_GRAMS_MG:
            raise SaleError("Enter a weight above 0 g (up to 1,000 g).")
    elif quantity <= 0 or quantity > MAX_EACH:
        raise SaleError(f"Enter a quantity from 1 to {MAX_EACH}.")


def _line_unit(package: Package) -> str:
    product = package.product
    unit = "grams" if product.sold_by == "weight" else "each"
    if (unit == "grams") != (package.unit == "grams"):
        raise StockConflict(
            f"Package {package.tag} is counted in {package.unit} but {product.name} is sold "
            f"{'by weight' if unit == 'grams' else 'by the unit'}; fix it in the back office."
        )
    return unit


def _refuse_if_over(state: SaleState) -> SaleState:
    """Refuse a change that leaves the sale over a limit or with a product the engine refuses."""
    verdict = state.check.verdict
    if not verdict.ok:
        message = verdict.messages[0] if verdict.messages else "This sale breaks a purchase limit."
        raise LimitConflict(message)
    return state


def add_package(
    order: Order, package: Package, quantity: int | None = None, held: int | None = None
) -> SaleState:
    """Add a package to an open sale (merging with its line), or refuse with the reason."""
    # `held` is what other orders hold of the package, when the caller read it with the package.
    _editable(order)
    if package.store_id != order.store_id:
        raise StockConflict(
            f"Package {package.tag} belongs to another store's inventory and cannot be sold here."
        )
    unit = _line_unit(package)
    if quantity is None:
        quantity = DEFAULT_GRAMS_MG if unit == "grams" else 1
    _check_quantity(unit, quantity)
    _check_stock(order, package, quantity, held=held)
    line = next((ln for ln in order.lines if ln.package_id == package.id), None)
    product = package.product
    if line is None:
        line = OrderLine(
            product_id=product.id,
            package_id=package.id,
            name=product.name,
            brand=product.brand,
            sku=product.sku,
            category=product.category,
            package_tag=package.tag,
            quantity=quantity,
            unit=unit,
            unit_price_cents=product.price_cents,
        )
        order.lines.append(line)
    else:
        line.quantity += quantity
        _check_quantity(unit, line.quantity)
    _snapshot(line, product)
    state = _refuse_if_over(recompute(order))
    state.changed = line
    return state


def add_by_tag(order: Order, scanned: str, quantity: int | None = None) -> SaleState:
    """Add the exact package a scanned tag names."""
    _editable(order)
    package, held = find_package(order.store, scanned, order)
    return add_package(order, package, quantity, held)


def add_product(order: Order, product: Product, quantity: int | None = None) -> SaleState:
    """Add a product from the menu, selling from the package the register proposes."""
    _editable(order)
    if product.store_id != order.store_id:
        raise SaleError("That product is not on this store's menu.")
    if not product.active:
        raise StockConflict(f"{product.name} is switched off on the menu and cannot be sold.")
    wanted = quantity or (DEFAULT_GRAMS_MG if product.sold_by == "weight" else 1)
    today = order.store.business_date()
    candidates = [
        package
        for package in db.session.scalars(
            select(Package)
            .where(
                Package.product_id == product.id,
                Package.store_id == order.store_id,
                Package.quantity > 0,
            )
            .order_by(
                Package.expires_on.is_(None), Package.expires_on, Package.received_on, Package.id
            )
        )
        if unsellable_reason(package, today) is None
    ]
    held = held_by_others([p.id for p in candidates], order.id)
    free = {p.id: p.quantity - held.get(p.id, 0) - _in_cart(order, p.id) for p in candidates}
    for package in candidates:
        if free[package.id] >= wanted:
            return add_package(order, package, wanted)
    left = sum(max(n, 0) for n in free.values())
    if not candidates or left == 0:
        raise StockConflict(f"Out of stock: no sellable package of {product.name} is left.")
    sample = candidates[0]
    if left < wanted:
        raise StockConflict(
            f"Out of stock: only {_amount_label(sample, left)} of {product.name} is left."
        )
    raise StockConflict(
        f"No single package of {product.name} holds {_amount_label(sample, wanted)}; "
        f"the fullest has {_amount_label(sample, max(free.values()))}. "
        "Scan each package to sell from two."
    )


def _line_of(order: Order, line_id: int) -> OrderLine:
    line = next((ln for ln in order.lines if ln.id == line_id), None)
    if line is None:
        raise SaleError("That line is no longer on this sale.", status=404)
    return line


def set_quantity(order: Order, line_id: int, quantity: int) -> SaleState:
    """Change a line's quantity (units, or milligrams for bulk); more is checked against stock."""
    _editable(order)
    line = _line_of(order, line_id)
    _check_quantity(line.unit, quantity)
    growing = quantity > line.quantity
    if growing:
        package = db.session.get(Package, line.package_id)
        _check_stock(order, package, quantity, skip=line)
    line.quantity = quantity
    _snapshot(line, db.session.get(Product, line.product_id))
    state = recompute(order)
    return _refuse_if_over(state) if growing else state


def remove_line(order: Order, line_id: int) -> SaleState:
    """Take a line off an open sale."""
    _editable(order)
    order.lines.remove(_line_of(order, line_id))
    return recompute(order)


def recompute(order: Order, at: datetime | None = None) -> SaleState:
    """Recompute discounts, limits and taxes for the order's lines and save the totals on it."""
    lines = list(order.lines)
    products = _products({line.product_id for line in lines})
    gross = [line_gross(line) for line in lines]
    own = [
        discount_amount(line.discount_kind, line.discount_value, g)
        for line, g in zip(lines, gross, strict=True)
    ]
    after_own = [g - o for g, o in zip(gross, own, strict=True)]
    sale_discount = discount_amount(order.discount_kind, order.discount_value, sum(after_own))
    shares = allocate(sale_discount, after_own)
    for line, o, rest, share in zip(lines, own, after_own, shares, strict=True):
        line.discount_cents = o
        line.sale_discount_cents = share
        line.line_total_cents = rest - share
    items = [(products[line.product_id], line.quantity, line.line_total_cents) for line in lines]
    if order.status not in ("completed", "voided"):
        # Fixed when the sale completes: the patient the limits were counted for.
        order.patient_id = patient_id_for(order.customer, order.customer_class)
    check = check_cart(
        order.store, items, order.customer_class, order.customer, at, order.id_number_hash
    )
    order.subtotal_cents = sum(gross)
    order.discount_cents = sum(own) + sale_discount
    order.tax_cents = check.taxes.tax_cents
    order.total_cents = check.taxes.total_cents
    order.tax_lines = [tax.to_dict() for tax in check.taxes.lines]
    return SaleState(order, check)


def _products(ids: set[int]) -> dict[int, Product]:
    """Return products by id, reading only those the session does not hold yet."""
    found = {}
    for product_id in ids:
        product = db.session.identity_map.get(identity_key(Product, product_id))
        if product is not None:
            found[product_id] = product
    missing = ids - found.keys()
    if missing:
        # No autoflush: the lines being changed are written once, with their final totals.
        with db.session.no_autoflush:
            found.update(
                (p.id, p)
                for p in db.session.scalars(select(Product).where(Product.id.in_(missing)))
            )
    return found


def claim(order: Order, user: User) -> None:
    """Make a budtender the one serving an open sale (they took it from the queue)."""
    if order.channel == "register" and order.status == "open" and order.budtender_id != user.id:
        order.budtender_id = user.id


def cancel_sale(order: Order, user: User, reason: str = "") -> None:
    """Drop an open register sale that will not be paid (the customer left)."""
    _editable(order)
    order.status = "cancelled"
    audit.record(
        "sale.cancel",
        store_id=order.store_id,
        user_id=user.id,
        obj=order,
        reason=(reason or "customer left")[:300],
        lines=len(order.lines),
    )


# Discounts -------------------------------------------------------------------------------------


def needs_approval(store: Store, base_cents: int, amount_cents: int) -> bool:
    """Say whether a discount is above the store's threshold (percent of its base, or cents)."""
    if amount_cents <= 0:
        return False
    over_amount = amount_cents > store.discount_approval_cents
    over_percent = amount_cents * 10000 > store.discount_approval_bp * base_cents
    return over_amount or over_percent


def _discount_spec(kind: str | None, value: int | None, reason: str) -> tuple[str | None, int]:
    if not kind or not value:
        return None, 0
    if kind not in ("percent", "amount"):
        raise SaleError("Choose a percent or an amount.")
    if kind == "percent" and not 0 < value <= 10000:
        raise SaleError("A percent discount is between 0 and 100%.")
    if value < 0:
        raise SaleError("A discount cannot be negative.")
    if not (reason or "").strip():
        raise SaleError("Give a reason for the discount (it is on the audit trail).")
    return kind, value


def _approve(
    store: Store, actor: User, approver: User | None, base: int, amount: int
) -> User | None:
    if not needs_approval(store, base, amount):
        return None
    if actor.has_role(store, "manager"):
        return actor
    if approver is None or not approver.has_role(store, "manager"):
        raise NeedsApproval(
            f"A discount of {money(amount)} is above this store's limit "
            f"({units.percent(store.discount_approval_bp, places=2)} or "
            f"{money(store.discount_approval_cents)}): a manager must approve it with their PIN."
        )
    return approver


def set_line_discount(
    order: Order,
    line_id: int,
    kind: str | None,
    value: int | None,
    reason: str,
    actor: User,
    approver: User | None = None,
) -> SaleState:
    """Discount one line by a percent (hundredths) or cents, with a reason; 0 removes it."""
    _editable(order)
    line = _line_of(order, line_id)
    kind, value = _discount_spec(kind, value, reason)
    base = line_gross(line)
    amount = discount_amount(kind, value, base)
    _record_discount(order, line, "line", kind, value, reason, actor, approver, base, amount)
    return recompute(order)


def set_sale_discount(
    order: Order,
    kind: str | None,
    value: int | None,
    reason: str,
    actor: User,
    approver: User | None = None,
) -> SaleState:
    """Discount the whole sale by a percent (hundredths) or cents, with a reason; 0 removes it."""
    _editable(order)
    kind, value = _discount_spec(kind, value, reason)
    base = sum(line_gross(line) - line.discount_cents for line in order.lines)
    amount = discount_amount(kind, value, base)
    _record_discount(order, order, "sale", kind, value, reason, actor, approver, base, amount)
    return recompute(order)


def _record_discount(
    order: Order,
    target: Order | OrderLine,
    scope: str,
    kind: str | None,
    value: int | None,
    reason: str,
    actor: User,
    approver: User | None,
    base: int,
    amount: int,
) -> None:
    """Set a line's or the sale's discount after the approval check, and audit it."""
    approved = _approve(order.store, actor, approver, base, amount)
    target.discount_kind, target.discount_value = kind, value or None
    target.discount_reason = reason.strip()[:200] if kind else None
    target.discount_approved_by_id = approved.id if approved else None
    extra = {"line_id": target.id} if scope == "line" else {}
    audit.record(
        f"discount.{scope}" if kind else f"discount.{scope}_removed",
        store_id=order.store_id,
        user_id=actor.id,
        obj=order,
        reason=target.discount_reason,
        **extra,
        kind=kind,
        value=value,
        amount_cents=amount,
        approved_by=approved.id if approved else None,
    )


# Paying and completing -------------------------------------------------------------------------


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


def _lock_order(order_id: int) -> Order:
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


def _lock_packages(ids) -> list[Package]:
    """Lock packages in ascending id order (every writer does the same, so none deadlock)."""
    return list(
        db.session.scalars(
            select(Package)
            .where(Package.id.in_(sorted(ids)))
            .order_by(Package.id)
            # NO KEY UPDATE, as the online checkout takes: a reservation or stock movement that
            # only references a package does not wait for (or deadlock with) a sale.
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )
    )


def _move(
    package: Package, delta: int, kind: str, order: Order, user: User, **extra
) -> StockMovement:
    """Change a package's quantity with a conditional update and write its ledger entry."""
    statement = (
        update(Package)
        .where(Package.id == package.id)
        .values(quantity=Package.quantity + delta, updated_at=utcnow())
        .returning(Package.quantity)
        .execution_options(synchronize_session=False)
    )
    if delta < 0:
        # The last defence: a decrement that would go below zero matches no row.
        statement = statement.where(Package.quantity >= -delta)
    after = db.session.execute(statement).scalar_one_or_none()
    if after is None:
        raise StockConflict(
            f"Out of stock: package {package.tag} ({package.product.name}) was just sold out."
        )
    attributes.set_committed_value(package, "quantity", after)
    movement = StockMovement(
        store_id=package.store_id,
        package_id=package.id,
        kind=kind,
        delta=delta,
        quantity_after=after,
        order_id=order.id,
        user_id=user.id,
        **extra,
    )
    db.session.add(movement)
    return movement


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
    token = (client_token or "").strip()
    if not token or len(token) > 64:
        raise SaleError("This payment form is stale; reload the sale and try again.")
    earlier = db.session.scalar(select(Order).where(Order.client_token == token))
    if earlier is not None:
        if earlier.id != order.id:
            raise SaleError("This payment was already used for another sale; reload the sale.")
        if earlier.status in ("completed", "voided"):
            return earlier
    order = _lock_order(order.id)
    if order.status == "completed":
        if order.client_token == token:
            return order
        raise SaleError("This sale was already completed on another register.", status=409)
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
    if order.customer_id is not None:
        # Two sales to one customer at once must not both fit under the same limit.
        # NO KEY UPDATE: it serializes with the online checkout's customer lock but still lets
        # unrelated rows that reference the customer (a new check-in) be written meanwhile.
        db.session.scalars(
            select(Customer.id)
            .where(Customer.id == order.customer_id)
            .with_for_update(key_share=True)
        ).one()
    now = utcnow()
    for line in lines:
        _snapshot(line, db.session.get(Product, line.product_id))
    state = recompute(order, at=now)
    _refuse_if_over(state)
    _check_payments(tenders, order.total_cents, drawer, order.store_id)
    needed: dict[int, int] = {}
    for line in lines:
        needed[line.package_id] = needed.get(line.package_id, 0) + line.quantity
    packages = _lock_packages(needed)
    if drawer is not None and any(p.kind == "cash" for p in tenders):
        # Checked again under a shared lock, taken after the packages as voids take theirs: a
        # drawer closed meanwhile refuses the cash, and a close waits for the sales in flight.
        drawer = share_lock(drawer)
        if not drawer.is_open:
            raise SaleError("This cash drawer was just closed; open a drawer to take cash.")
    held = held_by_others(list(needed), order.id, now)
    today = order.store.business_date(now)
    for package in packages:
        reason = unsellable_reason(package, today)
        if reason:
            raise StockConflict(reason)
        free = package.quantity - held.get(package.id, 0)
        if needed[package.id] > free:
            raise StockConflict(
                f"Out of stock: package {package.tag} ({package.product.name}) has "
                f"{_amount_label(package, max(free, 0))} left; this sale needs "
                f"{_amount_label(package, needed[package.id])}."
            )
    for package in packages:
        _move(package, -needed[package.id], "sale", order, budtender)
    db.session.execute(
        update(Reservation)
        .where(Reservation.order_id == order.id, Reservation.released_at.is_(None))
        .values(released_at=now)
        .execution_options(synchronize_session=False)
    )
    for payment in tenders:
        cash = payment.kind == "cash"
        order.tenders.append(
            Tender(
                kind=payment.kind,
                amount_cents=payment.amount_cents,
                tendered_cents=payment.tendered_cents if cash else None,
                change_cents=(payment.tendered_cents - payment.amount_cents) if cash else 0,
                reference=(payment.reference or None),
                drawer_id=drawer.id if cash else None,
            )
        )
    order.status = "completed"
    order.client_token = token
    order.budtender_id = budtender.id
    order.completed_at = now
    order.business_date = today
    db.session.flush()
    queue_report("sale", order.store, order=order)
    return order


def change_due(order: Order) -> int:
    """Return the change handed back on a completed sale."""
    return sum(t.change_cents for t in order.tenders)


# Voids and returns -----------------------------------------------------------------------------


def _cash_refund(order: Order, amount: int, user: User, drawer: CashDrawer | None, why: str):
    if amount <= 0:
        return
    if drawer is None:
        raise SaleError("Open a cash drawer on this register to hand the cash back.")
    try:
        take_out(drawer, "refund", amount, why, user, order_id=order.id)
    except DrawerError as exc:
        raise SaleError(str(exc)) from exc


def can_void(order: Order, today: date | None = None) -> bool:
    """Say whether a sale may still be voided: completed, on the store's current business day."""
    today = today or order.store.business_date()
    return order.status == "completed" and order.business_date == today


def void_sale(
    order: Order,
    reason: str,
    manager: User,
    *,
    operator: User | None = None,
    drawer: CashDrawer | None = None,
) -> Order:
    """Void a completed sale the same business day: restock it, refund cash, report the void."""
    reason = (reason or "").strip()
    if not reason:
        raise SaleError("Give a reason for the void (it is reported and audited).")
    if not manager.has_role(order.store, "manager"):
        raise NeedsApproval("Only a manager can void a sale: ask one to enter their PIN.")
    order = _lock_order(order.id)
    if order.status == "voided":
        raise SaleError("This sale was already voided.", status=409)
    if order.status != "completed":
        raise SaleError("Only a completed sale can be voided.", status=409)
    if not can_void(order):
        raise SaleError(
            "A sale can only be voided on the business day it was made; use a return instead.",
            status=409,
        )
    actor = operator or manager
    back = {line.id: line.quantity - line.returned_quantity for line in order.lines}
    by_package: dict[int, int] = {}
    for line in order.lines:
        if back[line.id] > 0 and line.package_id is not None:
            by_package[line.package_id] = by_package.get(line.package_id, 0) + back[line.id]
    for package in _lock_packages(by_package):
        _move(package, by_package[package.id], "void", order, actor, note=reason[:300])
    room = refund_room(order)
    refund = min(room.cash_cents, room.total_cents)
    _cash_refund(order, refund, actor, drawer, f"Void of sale #{order.id}")
    order.status = "voided"
    order.voided_at = utcnow()
    order.voided_by_id = manager.id
    order.void_reason = reason[:300]
    db.session.flush()
    queue_report("void", order.store, order=order)
    audit.record(
        "sale.void",
        store_id=order.store_id,
        user_id=manager.id,
        obj=order,
        reason=reason[:300],
        operator_id=actor.id,
        total_cents=order.total_cents,
        cash_refund_cents=refund,
    )
    return order


def return_items(
    order: Order,
    items: Sequence[ReturnItem],
    reason: str,
    user: User,
    *,
    refund_kind: str = "paid",
    drawer: CashDrawer | None = None,
    approver: User | None = None,
    client_token: str | None = None,
) -> SaleReturn:
    """Take sold items back (restock or destroy each), refund, report; return the return.

    The refund is what the returned units paid, never more; it goes back in cash, to the card,
    or as the sale was paid (card first, then the sale's cash), never more by a tender than the
    sale took by it. Above the store's refund amount, or on a sale older than its refund age, a
    manager approves (NeedsApproval otherwise). The same client_token again returns the same
    return, so a retried submit records nothing twice.
    """
    reason = (reason or "").strip()
    if not reason:
        raise SaleError("Give a reason for the return (it is reported and audited).")
    items = [item for item in items if item.quantity > 0]
    if not items:
        raise SaleError("Choose at least one item and how many come back.")
    if refund_kind not in REFUND_KINDS:
        raise SaleError("Refund in cash, back to the debit card, or as the sale was paid.")
    token = (client_token or "").strip() or None
    if token is not None and len(token) > 64:
        raise SaleError("This return form is stale; reload it and try again.")
    earlier = _return_by_token(order, token)
    if earlier is not None:
        return earlier
    order = _lock_order(order.id)
    # A retry that waited for the first submit's lock finds what the first one recorded.
    earlier = _return_by_token(order, token)
    if earlier is not None:
        return earlier
    if order.status != "completed":
        raise SaleError("Only a completed sale can take returns.", status=409)
    store = order.store
    lines = {line.id: line for line in order.lines}
    wanted: dict[int, int] = {}
    for item in items:
        if item.disposition not in ("restock", "destroy"):
            raise SaleError("Choose whether each returned item is restocked or destroyed.")
        line = lines.get(item.line.id)
        if line is None:
            raise SaleError("That item is not on this sale.", status=404)
        # Summed per line: the same line twice in one return cannot pass the check twice.
        wanted[line.id] = wanted.get(line.id, 0) + item.quantity
    for line_id, quantity in wanted.items():
        line = lines[line_id]
        left = line.quantity - line.returned_quantity
        if quantity > left:
            shown = units.grams(left) if line.unit == "grams" else str(left)
            raise SaleError(f"Only {shown} of {line.name} can still come back.")
    paid = line_payments(order)
    room = refund_room(order)
    refunds = []
    for item in items:
        line = lines[item.line.id]
        refunds.append(line_refund(line, paid[line.id], item.quantity))
        # The next item of the same line refunds from where this one leaves the line.
        line.returned_quantity += item.quantity
    refund = min(sum(refunds), room.total_cents)
    cash, card = _refund_tenders(order, refund, refund_kind, room)
    today = store.business_date()
    why = approval_reasons(store, order, refund, today)
    approved = _approve_return(store, user, approver, why, order, refund, today)
    packages = {p.id: p for p in _lock_packages({i.line.package_id for i in items})}
    destroyed: list[StockMovement] = []
    back = SaleReturn(
        store_id=store.id,
        order_id=order.id,
        user_id=user.id,
        approved_by_id=approved.id if approved else None,
        drawer_id=drawer.id if cash and drawer is not None else None,
        client_token=token,
        business_date=today,
        reason=reason[:300],
        cash_cents=cash,
        card_cents=card,
    )
    for item, cents in zip(items, refunds, strict=True):
        line = lines[item.line.id]
        package = packages[line.package_id]
        back.lines.append(
            SaleReturnLine(
                order_line_id=line.id,
                quantity=item.quantity,
                disposition=item.disposition,
                refund_cents=cents,
            )
        )
        _move(package, item.quantity, "return", order, user, note=reason[:300])
        if item.disposition == "destroy":
            destroyed.append(
                _move(
                    package,
                    -item.quantity,
                    "destroy",
                    order,
                    user,
                    reason_code="Waste",
                    note=f"Returned on sale #{order.id} and destroyed: {reason}"[:300],
                )
            )
    db.session.add(back)
    _cash_refund(order, cash, user, drawer, f"Return on sale #{order.id}")
    db.session.flush()
    queue_report("return", store, order=order)
    for movement in destroyed:
        queue_report("adjustment", store, movement=movement)
    audit.record(
        "sale.return",
        store_id=order.store_id,
        user_id=user.id,
        obj=order,
        reason=reason[:300],
        return_id=back.id,
        refund_cents=refund,
        cash_cents=cash,
        card_cents=card,
        refund_kind=refund_kind,
        approved_by=approved.id if approved else None,
        items=[
            {"line_id": i.line.id, "quantity": i.quantity, "disposition": i.disposition}
            for i in items
        ],
    )
    if approved is not None:
        audit.record(
            "sale.return_approved",
            store_id=order.store_id,
            user_id=approved.id,
            obj=order,
            reason=reason[:300],
            return_id=back.id,
            operator_id=user.id,
            why=why,
            refund_cents=refund,
            sale_age_days=(today - order.business_date).days if order.business_date else None,
        )
    return back


def _return_by_token(order: Order, token: str | None) -> SaleReturn | None:
    if token is None:
        return None
    earlier = db.session.scalar(select(SaleReturn).where(SaleReturn.client_token == token))
    if earlier is not None and earlier.order_id != order.id:
        raise SaleError("This return form was already used for another sale; reload it.")
    return earlier


def _refund_tenders(order: Order, refund: int, kind: str, room: RefundRoom) -> tuple[int, int]:
    """Split a refund into (cash, card) as asked, never beyond what the sale took by each."""
    cash_paid = sum(t.amount_cents for t in order.tenders if t.kind == "cash")
    if kind == "cash" and refund > room.cash_cents:
        given = "" if room.cash_cents == cash_paid else f", {money(room.cash_cents)} of it left"
        raise SaleError(
            f"This sale took {money(cash_paid)} in cash{given}: a {money(refund)} refund "
            "cannot all go back in cash. Refund it as paid, or to the debit card."
        )
    if kind == "debit" and refund > room.card_cents:
        raise SaleError(
            f"Only {money(room.card_cents)} of this sale can still go back to the card: "
            f"a {money(refund)} refund cannot. Refund it as paid, or in cash."
        )
    if kind == "cash":
        return refund, 0
    if kind == "debit":
        return 0, refund
    # As paid: back to the card first (less cash leaves the drawer), then the sale's cash.
    card = min(refund, room.card_cents)
    return refund - card, card


def _approve_return(
    store: Store,
    user: User,
    approver: User | None,
    why: list[str],
    order: Order,
    refund: int,
    today: date,
) -> User | None:
    """Return the manager who approves a return that needs one, or refuse it."""
    if not why:
        return None
    if user.has_role(store, "manager"):
        return user
    if approver is not None and approver.has_role(store, "manager"):
        return approver
    reasons = []
    if "amount" in why:
        reasons.append(
            f"a refund of {money(refund)} is above this store's "
            f"{money(store.refund_approval_cents)} limit"
        )
    if "age" in why:
        age = (today - order.business_date).days
        reasons.append(
            f"the sale is {age} days old (over the {store.refund_approval_days} days "
            "this store allows)"
        )
    text = " and ".join(reasons)
    raise NeedsApproval(f"{text[0].upper()}{text[1:]}: a manager must approve it with their PIN.")


# Reading ---------------------------------------------------------------------------------------


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


def discount_text(kind: str | None, value: int | None) -> str:
    """Return a discount as it was typed: "12.5" for 12.5 %, "5.00" for $5."""
    if not kind or not value:
        return ""
    if kind == "percent":
        return units.percent_amount(value)
    return units.money_amount(value)
