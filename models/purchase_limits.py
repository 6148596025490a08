"""Feed the pure limit and tax engines from the database: products, customers, past sales."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from extensions import db
from models.base import utcnow
from models.catalog import Product
from models.customers import Customer, age_on
from models.limits import CartLine, CustomerProfile, PastPurchase, Verdict, evaluate
from models.orders import Order, OrderLine
from models.rule_packs import RulePack, load_pack
from models.stores import Store
from models.taxes import PricedLine, TaxQuote, quote

# The longest rolling window any pack uses is 90 days; a margin covers time zone edges.
HISTORY_DAYS = 92


def pack_for(store: Store) -> RulePack:
    """Return the rule pack the store's settings pick."""
    return load_pack(store.rule_pack)


def _thc_for_weight(product: Product, milligrams: int) -> int | None:
    """Return the THC in a weighed amount, from the product's percent, rounded half up."""
    if product.thc_pct_bp is None:
        return None
    thc = Decimal(milligrams) * Decimal(product.thc_pct_bp) / Decimal(10000)
    return int(thc.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def cart_line(product: Product, quantity: int) -> CartLine:
    """Describe `quantity` of a product to the engine: units, or milligrams when sold by weight."""
    if product.sold_by == "weight":
        return CartLine(
            product.limit_category,
            net_weight_mg=quantity,
            thc_mg=_thc_for_weight(product, quantity),
            quantity=1,
            label=product.name,
        )
    return CartLine(
        product.limit_category,
        net_weight_mg=product.net_weight_mg,
        thc_mg=product.thc_mg,
        quantity=quantity,
        label=product.name,
    )


def sold_line(line: OrderLine) -> CartLine:
    """Describe a line of a past sale to the engine, from what the sale recorded."""
    if line.unit == "grams":
        return CartLine(
            line.limit_category,
            net_weight_mg=line.quantity,
            thc_mg=line.thc_mg,
            quantity=1,
            label=line.name,
        )
    return CartLine(
        line.limit_category,
        net_weight_mg=line.net_weight_mg,
        thc_mg=line.thc_mg,
        quantity=line.quantity - line.returned_quantity,
        label=line.name,
    )


def profile_for(customer: Customer, store: Store, customer_class: str) -> CustomerProfile:
    """Describe a customer to the engine for a sale at a store, under one class."""
    patient = customer.caregiver_for if customer.kind == "caregiver" else None
    today = store.business_date()
    return CustomerProfile(
        classes=frozenset({customer_class}),
        date_of_birth=customer.date_of_birth,
        resident=customer.resident_state == store.state,
        caregiver_for=str(patient.id) if patient is not None else None,
        patient_age=age_on(patient.date_of_birth, today) if patient is not None else None,
    )


def purchase_history(customer: Customer, store: Store, at: datetime | None = None) -> list:
    """Return the customer's completed sales in the chain's stores of this state, newest first."""
    at = at or utcnow()
    # A caregiver buys against the patient's allotment, so the patient's history counts.
    buyer = customer.caregiver_for if customer.caregiver_for is not None else customer
    buyers = [buyer.id] + [
        c.id
        for c in db.session.scalars(select(Customer).where(Customer.caregiver_for_id == buyer.id))
    ]
    orders = db.session.scalars(
        select(Order)
        .join(Store, Store.id == Order.store_id)
        .where(
            Order.customer_id.in_(buyers),
            Order.status == "completed",
            Store.state == store.state,
            Order.completed_at >= at - timedelta(days=HISTORY_DAYS),
            Order.completed_at <= at,
        )
        .options(selectinload(Order.lines))
        .order_by(Order.completed_at.desc())
    )
    history = []
    for order in orders:
        lines = tuple(
            sold_line(line) for line in order.lines if line.quantity > line.returned_quantity
        )
        history.append(
            PastPurchase(
                at=order.completed_at,
                lines=lines,
                classes=frozenset({order.customer_class}),
            )
        )
    return history


@dataclass(frozen=True)
class CartCheck:
    """The verdict and the taxes for one cart, as the register and the online cart show them."""

    verdict: Verdict
    taxes: TaxQuote


def check_cart(
    store: Store,
    items: Sequence[tuple[Product, int, int]],
    customer_class: str,
    customer: Customer | None = None,
    at: datetime | None = None,
) -> CartCheck:
    """Check a cart of (product, quantity, price in cents after discounts) for a buyer."""
    at = at or utcnow()
    pack = pack_for(store)
    lines = [cart_line(product, quantity) for product, quantity, _ in items]
    if customer is not None:
        profile = profile_for(customer, store, customer_class)
        history: Iterable[PastPurchase] = purchase_history(customer, store, at)
    else:
        profile = CustomerProfile(classes=frozenset({customer_class}))
        history = ()
    verdict = evaluate(pack, profile, lines, history, at, tz=store.timezone)
    priced = [
        PricedLine(line, price_cents)
        for line, (_, _, price_cents) in zip(lines, items, strict=True)
    ]
    taxes = quote(
        pack,
        priced,
        store.business_date(at),
        (customer_class,),
        store.local_tax_rates(),
    )
    return CartCheck(verdict, taxes)


def what_if(
    state: str,
    customer_class: str,
    lines: Sequence[tuple[CartLine, int]],
    *,
    day: date,
    resident: bool = True,
    age: int | None = None,
    local_rates: dict[str, Decimal] | None = None,
) -> CartCheck:
    """Check a hypothetical cart of (line, price in cents per unit) in a state, without history."""
    pack = load_pack(state)
    profile = CustomerProfile(classes=frozenset({customer_class}), age=age, resident=resident)
    cart = [line for line, _ in lines]
    verdict = evaluate(pack, profile, cart, (), day)
    priced = [PricedLine(line, price * line.quantity) for line, price in lines]
    taxes = quote(pack, priced, day, (customer_class,), local_rates or {})
    return CartCheck(verdict, taxes)
