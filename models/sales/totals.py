"""A sale's totals: discounts spread over the lines, then limits and taxes from the engine."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm.util import identity_key

from extensions import db
from models.catalog.products import Product
from models.people.customers import patient_id_for
from models.rules.purchase_limits import CartCheck, check_cart
from models.sales.amounts import allocate, discount_amount, half_up, line_gross
from models.sales.errors import LimitConflict
from models.sales.orders import Order, OrderLine


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


def snapshot(line: OrderLine, product: Product) -> None:
    """Copy what the limit engine and the state report read from the product onto the line."""
    line.limit_category = product.limit_category
    line.thc_pct_bp = product.thc_pct_bp
    if line.unit == "grams":
        line.net_weight_mg = line.quantity
        line.thc_mg = (
            None
            if product.thc_pct_bp is None
            else half_up(Decimal(line.quantity) * Decimal(product.thc_pct_bp) / 10000)
        )
    else:
        line.net_weight_mg = product.net_weight_mg
        line.thc_mg = product.thc_mg


def refuse_if_over(state: SaleState) -> SaleState:
    """Refuse a change that leaves the sale over a limit or with a product the engine refuses."""
    verdict = state.check.verdict
    if not verdict.ok:
        message = verdict.messages[0] if verdict.messages else "This sale breaks a purchase limit."
        raise LimitConflict(message)
    return state


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
