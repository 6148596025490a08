"""Feed the pure limit and tax engines from the database: products, customers, past sales."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from sqlalchemy import BindParameter, Row, bindparam, or_, select

from extensions import db
from models.base import utcnow
from models.catalog.products import Product
from models.people.customers import Customer, age_on
from models.rules.cart_lines import CartLine, CustomerProfile, PastPurchase
from models.rules.limits import evaluate
from models.rules.pack_rules import RulePack
from models.rules.packs import load_pack
from models.rules.taxes import PricedLine, TaxQuote, quote
from models.rules.verdicts import Refusal, Verdict
from models.sales.orders import Order, OrderLine
from models.stores.store import Store
from models.units import quantity

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


def sold_line(line: OrderLine | Row) -> CartLine:
    """Describe a line of a past sale (or a row of its columns) to the engine, as recorded."""
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


def allowed_local_rates(store: Store, pack: RulePack) -> tuple[dict[str, Decimal], list[Refusal]]:
    """Return the store's local tax rates the state allows, and a refusal for each it does not."""
    # The settings form refuses such a rate; one saved before the caps were checked (or for
    # another state's tax) must stop sales with a reason, never quote a wrong tax or fail.
    taxes = {t.local_rate: t for t in pack.taxes if t.local_rate}
    rates: dict[str, Decimal] = {}
    refusals = []
    for name, bp in store.local_tax_rates().items():
        tax = taxes.get(name)
        percent = bp / 100
        if tax is None:
            problem = f"a local tax rate is set for “{name}”, which {pack.state} does not have"
        elif tax.max_percent is not None and percent > tax.max_percent:
            name = tax.name[0].lower() + tax.name[1:]
            problem = (
                f"its {name} is set to {quantity(percent, 'percent')}, "
                f"above the {quantity(tax.max_percent, 'percent')} the state allows"
            )
        else:
            rates[name] = bp
            continue
        refusals.append(
            Refusal(
                "store_setup",
                f"This store cannot sell: {problem}. A manager must correct it in Settings → "
                "Local taxes.",
            )
        )
    return rates, refusals


def buyer_refusals(verdict: Verdict, customer: Customer | None, customer_class: str) -> Verdict:
    """Add the refusals that come from the customer's record rather than the state's rules."""
    # A caregiver buys for their patient only: with no patient linked, nobody's allotment or
    # card could be named on the receipt and the state report.
    if (
        customer is not None
        and customer.kind == "caregiver"
        and customer_class == "medical"
        and customer.caregiver_for_id is None
    ):
        refusal = Refusal(
            "caregiver",
            f"{customer.name} is a caregiver with no patient on file, so this cannot be a "
            "medical sale: a caregiver buys only for their patient. Check them in without the "
            "card for an adult-use sale.",
        )
        return replace(verdict, ok=False, refusals=(*verdict.refusals, refusal))
    return verdict


@cache
def _history_query():
    """Build the history read once (it runs on every cart change)."""
    # Building a statement costs more Python time than SQLite takes to run this one.
    buyer: BindParameter[int] = bindparam("buyer")
    buyers = select(Customer.id).where(
        or_(Customer.id == buyer, Customer.caregiver_for_id == buyer)
    )
    return (
        select(
            Order.id,
            Order.completed_at,
            Order.customer_class,
            OrderLine.limit_category,
            OrderLine.unit,
            OrderLine.quantity,
            OrderLine.returned_quantity,
            OrderLine.net_weight_mg,
            OrderLine.thc_mg,
            OrderLine.name,
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Store, Store.id == Order.store_id)
        .where(
            # The buyer's sales (and their caregivers'), and anonymous sales to the same ID.
            or_(Order.customer_id.in_(buyers), Order.id_number_hash == bindparam("id_hash")),
            Order.status == "completed",
            Store.state == bindparam("state"),
            Order.completed_at >= bindparam("since"),
            Order.completed_at <= bindparam("until"),
            OrderLine.quantity > OrderLine.returned_quantity,
        )
        .order_by(Order.completed_at.desc(), Order.id, OrderLine.id)
    )


def purchase_history(
    customer: Customer | None, store: Store, at: datetime | None = None, id_hash: str | None = None
) -> list:
    """Return the buyer's completed sales in the chain's stores of this state, newest first.

    The buyer is a customer, or an anonymous walk-in known only by the keyed hash of their ID;
    a customer's own ID hash also finds the sales they made anonymously.
    """
    at = at or utcnow()
    if customer is not None and customer.caregiver_for_id is None:
        id_hash = id_hash or customer.id_number_hash
    # A caregiver buys against the patient's allotment, so the patient's history counts.
    # Plain columns need no ORM: run it on the session's connection, skipping the ORM layer.
    rows = db.session.connection().execute(
        _history_query(),
        {
            "buyer": (customer.caregiver_for_id or customer.id) if customer is not None else None,
            "id_hash": id_hash,
            "state": store.state,
            "since": at - timedelta(days=HISTORY_DAYS),
            "until": at,
        },
    )
    history, current, lines = [], None, []
    for row in rows:
        if current is not None and row.id != current.id:
            history.append(_past(current, lines))
            lines = []
        current = row
        lines.append(sold_line(row))
    if current is not None:
        history.append(_past(current, lines))
    return history


def _past(row, lines: list[CartLine]) -> PastPurchase:
    return PastPurchase(
        at=row.completed_at, lines=tuple(lines), classes=frozenset({row.customer_class})
    )


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
    id_hash: str | None = None,
) -> CartCheck:
    """Check a cart of (product, quantity, price in cents after discounts) for a buyer.

    An anonymous walk-in's earlier sales are found by `id_hash`, the keyed hash of their ID.
    """
    at = at or utcnow()
    pack = pack_for(store)
    lines = [cart_line(product, quantity) for product, quantity, _ in items]
    if customer is not None:
        profile = profile_for(customer, store, customer_class)
    else:
        profile = CustomerProfile(classes=frozenset({customer_class}))
    history: Iterable[PastPurchase] = ()
    if customer is not None or id_hash is not None:
        # Past sales are completed ones: the cart being changed need not be written to read them.
        with db.session.no_autoflush:
            history = purchase_history(customer, store, at, id_hash)
    verdict = evaluate(pack, profile, lines, history, at, tz=store.timezone)
    verdict = buyer_refusals(verdict, customer, customer_class)
    rates, setup = allowed_local_rates(store, pack)
    if setup:
        verdict = replace(verdict, ok=False, refusals=(*verdict.refusals, *setup))
    priced = [
        PricedLine(line, price_cents)
        for line, (_, _, price_cents) in zip(lines, items, strict=True)
    ]
    taxes = quote(pack, priced, store.business_date(at), (customer_class,), rates)
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
