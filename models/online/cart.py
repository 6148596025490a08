"""The online cart: kept in the database under a random token the session holds, one per store."""

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from extensions import db
from models.base import utcnow
from models.catalog.products import Product
from models.model import Model
from models.online.menu import availability
from models.people.customers import Customer, age_on
from models.people.id_scan import minimum_ages
from models.rules.cart_lines import CustomerProfile, PastPurchase
from models.rules.limits import evaluate
from models.rules.purchase_limits import (
    CartCheck,
    allowed_local_rates,
    buyer_refusals,
    cart_line,
    pack_for,
    profile_for,
    purchase_history,
    sold_line,
)
from models.rules.taxes import PricedLine, quote
from models.sales.orders import Order
from models.stores.store import Store
from models.units import amount, grams

MAX_UNITS = 10
# Amounts offered for goods sold by weight, in milligrams (a gram, an eighth, a quarter, ...).
WEIGHT_CHOICES_MG = (1000, 3500, 7000, 14000, 28000)
# Online orders that are not finished still use up the customer's daily and monthly allotment.
PENDING_STATUSES = ("placed", "accepted", "packed", "ready")


class CartRefused(ValueError):
    """A cart change that cannot be made, with the message to show the customer."""

    status = 422


class StockRefused(CartRefused):
    """More than the store has available."""

    status = 409


class AgeRefused(CartRefused):
    """The shopper may not buy here yet (under age, or a card nobody has checked)."""

    status = 409


class LimitRefused(CartRefused):
    """The change would break a purchase limit (or the product cannot be sold at all)."""

    status = 409

    def __init__(self, message: str, check: CartCheck | None = None):
        super().__init__(message)
        self.check = check


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Cart(Model):
    """A shopper's cart at one store, found by the hash of a token kept in their session."""

    __tablename__ = "cart"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    # Set when the cart became an order: one cart gives at most one order.
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("sale_order.id", ondelete="SET NULL"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    store: Mapped[Store] = relationship()
    lines: Mapped[list["CartLine"]] = relationship(
        back_populates="cart", cascade="all, delete-orphan", order_by="CartLine.id"
    )


class CartLine(Model):
    """A product in a cart: units, or milligrams for goods sold by weight."""

    __tablename__ = "cart_line"
    __table_args__ = (
        UniqueConstraint("cart_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("cart.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    quantity: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    cart: Mapped[Cart] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()


@dataclass(frozen=True)
class CartItem:
    """A cart line as the cart page shows it: product, amount, price, what the shelf still has."""

    product: Product
    quantity: int
    price_cents: int
    available: int

    @property
    def short(self) -> bool:
        """Say whether the store no longer has this much."""
        return self.quantity > self.available


@dataclass(frozen=True)
class CartView:
    """A cart with its items, the limit verdict and the taxes."""

    cart: Cart | None
    items: tuple[CartItem, ...]
    check: CartCheck | None
    customer_class: str
    # Why the shopper cannot buy at all yet, and what to know about their card.
    refusal: str | None = None
    card_notice: str | None = None

    @property
    def empty(self) -> bool:
        """Say whether there is nothing in the cart."""
        return not self.items

    @property
    def count(self) -> int:
        """Return the number of items (weighed goods count once)."""
        return item_count(self.cart)

    @property
    def problems(self) -> tuple[str, ...]:
        """List what stops checkout: limits, refusals, and lines the store cannot fill."""
        stock = tuple(
            f"Only {_amount(i.product, i.available)} of {i.product.name} is available now."
            if i.available
            else f"{i.product.name} has sold out."
            for i in self.items
            if i.short
        )
        limits = self.check.verdict.messages if self.check is not None else ()
        refusal = (self.refusal,) if self.refusal else ()
        return refusal + stock + tuple(limits)


def item_count(cart: Cart | None) -> int:
    """Return how many items a cart holds, as its badge shows (a weighed amount counts once)."""
    if cart is None:
        return 0
    return sum(line.quantity if line.product.sold_by == "each" else 1 for line in cart.lines)


def _amount(product: Product, quantity: int) -> str:
    return grams(quantity) if product.sold_by == "weight" else amount(quantity, "each")


def line_price_cents(product: Product, quantity: int) -> int:
    """Return the price of an amount: units × price, or grams × price per gram, half up."""
    if product.sold_by == "weight":
        cents = Decimal(product.price_cents) * Decimal(quantity) / Decimal(1000)
        return int(cents.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return product.price_cents * quantity


def buyer_class(store: Store, customer: Customer | None) -> str:
    """Return the class a customer buys under here: medical with a checked card, else adult use."""
    if customer is not None and customer.has_verified_medical_card(store):
        return "medical"
    return "adult_use"


def card_notice(store: Store, customer: Customer | None) -> str | None:
    """Tell a shopper whose card nobody has checked yet how they buy until it is."""
    if customer is None or not store.sells_medical or not customer.has_card_on_file:
        return None
    if customer.has_verified_medical_card(store):
        return None
    return (
        "Your medical card will be checked at the counter (bring it with your ID). Until then "
        "you buy as adult use: adult-use limits and taxes apply."
    )


def age_refusal(store: Store, customer: Customer | None) -> str | None:
    """Say why a signed-in shopper may not buy here at all yet, or None."""
    if customer is None:
        return None
    adult_age, medical_age = minimum_ages(pack_for(store))
    age = age_on(customer.date_of_birth, store.business_date())
    if buyer_class(store, customer) == "medical":
        if age < medical_age:
            return f"Patients must be {medical_age} or older to buy here."
        return None
    if age >= adult_age:
        return None
    if store.sells_medical and customer.has_card_on_file:
        return (
            f"You are under {adult_age}: you can order here once your medical card is checked "
            "at the counter. Bring the card and your ID to the store."
        )
    return f"You must be {adult_age} or older to buy here."


def pending_purchases(customer: Customer, store: Store, exclude_order_id: int | None = None):
    """Return the customer's unfinished online orders in this state, as the engine's past sales."""
    buyer = customer.caregiver_for if customer.caregiver_for is not None else customer
    orders = db.session.scalars(
        select(Order)
        .join(Store, Store.id == Order.store_id)
        .where(
            Order.customer_id.in_({customer.id, buyer.id}),
            Order.channel == "web",
            Order.status.in_(PENDING_STATUSES),
            Store.state == store.state,
            Order.id != (exclude_order_id or 0),
        )
        .options(selectinload(Order.lines))
    )
    return [
        PastPurchase(
            at=order.pickup_at or order.created_at,
            lines=tuple(sold_line(line) for line in order.lines),
            classes=frozenset({order.customer_class}),
        )
        for order in orders
        if order.lines
    ]


def check_items(
    store: Store,
    items: Sequence[tuple[Product, int, int]],
    customer: Customer | None,
    at: datetime | None = None,
    exclude_order_id: int | None = None,
) -> CartCheck:
    """Check (product, quantity, price) lines for a buyer: limits with history, and taxes."""
    # As purchase_limits.check_cart, with the buyer's unfinished online orders counted too:
    # two orders for the same day must not together pass a daily cap.
    at = at or utcnow()
    pack = pack_for(store)
    customer_class = buyer_class(store, customer)
    lines = [cart_line(product, quantity) for product, quantity, _ in items]
    if customer is not None:
        profile = profile_for(customer, store, customer_class)
        history: Iterable[PastPurchase] = purchase_history(customer, store, at) + (
            pending_purchases(customer, store, exclude_order_id)
        )
    else:
        profile = CustomerProfile(classes=frozenset({customer_class}))
        history = ()
    verdict = evaluate(pack, profile, lines, history, at, tz=store.timezone)
    verdict = buyer_refusals(verdict, customer, customer_class)
    rates, setup = allowed_local_rates(store, pack)
    if setup:
        verdict = replace(verdict, ok=False, refusals=(*verdict.refusals, *setup))
    priced = [PricedLine(line, price) for line, (_, _, price) in zip(lines, items, strict=True)]
    taxes = quote(pack, priced, store.business_date(at), (customer_class,), rates)
    return CartCheck(verdict, taxes)


def new_token() -> str:
    """Return a fresh random cart token for the session."""
    return secrets.token_urlsafe(24)


def _owned(cart: Cart, customer: Customer | None) -> bool:
    return cart.customer_id is None or (customer is not None and cart.customer_id == customer.id)


def find_cart(token: str | None, store: Store, customer: Customer | None) -> Cart | None:
    """Return the open cart a token names at a store for this shopper, or None."""
    if not token:
        return None
    cart = db.session.scalar(select(Cart).where(Cart.token_hash == _digest(token)))
    if cart is None or cart.store_id != store.id or cart.order_id is not None:
        return None
    return cart if _owned(cart, customer) else None


def open_cart(token: str | None, store: Store, customer: Customer | None) -> tuple[Cart, str]:
    """Return the open cart for a token at a store and its token, starting one when needed."""
    cart = find_cart(token, store, customer)
    if cart is None or token is None:
        # An ordered, foreign or unknown token starts afresh under a new one.
        token = new_token()
        cart = Cart(token_hash=_digest(token), store_id=store.id)
        db.session.add(cart)
    if customer is not None and cart.customer_id is None:
        cart.customer_id = customer.id
    return cart, token


def _items(cart: Cart | None) -> list[CartItem]:
    if cart is None:
        return []
    return [
        CartItem(
            line.product,
            line.quantity,
            line_price_cents(line.product, line.quantity),
            availability(line.product),
        )
        for line in cart.lines
    ]


def view(cart: Cart | None, store: Store, customer: Customer | None) -> CartView:
    """Return a cart with its limit verdict and taxes (an empty view when there is no cart)."""
    items = _items(cart)
    check = (
        check_items(store, [(i.product, i.quantity, i.price_cents) for i in items], customer)
        if items
        else None
    )
    return CartView(
        cart,
        tuple(items),
        check,
        buyer_class(store, customer),
        age_refusal(store, customer),
        card_notice(store, customer),
    )


def _sellable(product: Product, store: Store) -> None:
    if product.store_id != store.id or not product.active or not product.online_visible:
        raise CartRefused("This product is not on this store's online menu.")


def valid_quantity(product: Product, quantity: int) -> None:
    """Refuse amounts the menu does not offer (weights from the choices, units 1 to 10)."""
    if product.sold_by == "weight":
        if quantity not in WEIGHT_CHOICES_MG:
            raise CartRefused("Choose one of the listed amounts.")
    elif not 1 <= quantity <= MAX_UNITS:
        raise CartRefused(f"Choose between 1 and {MAX_UNITS}.")


def _set(
    cart: Cart, store: Store, product: Product, quantity: int, customer: Customer | None
) -> CartCheck:
    """Put `quantity` of a product in the cart if stock and limits allow it."""
    _sellable(product, store)
    valid_quantity(product, quantity)
    refusal = age_refusal(store, customer)
    if refusal:
        raise AgeRefused(refusal)
    available = availability(product)
    if quantity > available:
        if available <= 0:
            raise StockRefused(f"{product.name} has just sold out.")
        raise StockRefused(
            f"Only {_amount(product, available)} of {product.name} is available right now."
        )
    line = next((x for x in cart.lines if x.product_id == product.id), None)
    before = [(i.product, i.quantity, i.price_cents) for i in _items(cart)]
    after = [x for x in before if x[0].id != product.id] + [
        (product, quantity, line_price_cents(product, quantity))
    ]
    check = check_items(store, after, customer)
    if not check.verdict.ok:
        # Refuse only what this change breaks: a cart already over (history changed) may shrink.
        was_ok = not before or check_items(store, before, customer).verdict.ok
        grows = line is None or quantity > line.quantity
        if was_ok or grows:
            reason = check.verdict.messages[0] if check.verdict.messages else "Over the limit."
            raise LimitRefused(f"{product.name} cannot be added: {reason}", check)
    if line is None:
        cart.lines.append(CartLine(product=product, quantity=quantity))
    else:
        line.quantity = quantity
    cart.updated_at = utcnow()
    return check


def add_to_cart(
    cart: Cart, store: Store, product: Product, quantity: int, customer: Customer | None
) -> CartCheck:
    """Add an amount of a product (units add up; a weight replaces the chosen weight)."""
    line = next((x for x in cart.lines if x.product_id == product.id), None)
    total = quantity
    if line is not None and product.sold_by == "each":
        total = line.quantity + quantity
    return _set(cart, store, product, total, customer)


def change_quantity(
    cart: Cart, store: Store, product: Product, quantity: int, customer: Customer | None
) -> CartCheck | None:
    """Set a line's amount; zero removes it."""
    if quantity == 0:
        remove_from_cart(cart, product.id)
        return None
    return _set(cart, store, product, quantity, customer)


def remove_from_cart(cart: Cart, product_id: int) -> None:
    """Take a product out of the cart."""
    for line in list(cart.lines):
        if line.product_id == product_id:
            cart.lines.remove(line)
    cart.updated_at = utcnow()


def carts_for_session(tokens: dict[str, str]) -> list[Cart]:
    """Return the open carts a session's {store id: token} map names."""
    if not tokens:
        return []
    hashes = [_digest(t) for t in tokens.values()]
    return list(
        db.session.scalars(select(Cart).where(Cart.token_hash.in_(hashes), Cart.order_id.is_(None)))
    )


def adopt_carts(customer: Customer, tokens: dict[str, str]) -> dict[str, str]:
    """Give a signed-in customer the carts of their session, merged with any they left earlier."""
    # The session's carts win; a cart saved on another device for a store joins it line by line,
    # and a store with no cart in this session takes over the saved one under a new token.
    tokens = dict(tokens or {})
    session_carts = {c.store_id: c for c in carts_for_session(tokens) if _owned(c, customer)}
    saved = db.session.scalars(
        select(Cart)
        .where(Cart.customer_id == customer.id, Cart.order_id.is_(None))
        .order_by(Cart.updated_at.desc())
    )
    for old in saved:
        current = session_carts.get(old.store_id)
        if current is None:
            token = new_token()
            old.token_hash = _digest(token)
            tokens[str(old.store_id)] = token
            session_carts[old.store_id] = old
            continue
        if current.id == old.id:
            continue
        have = {line.product_id for line in current.lines}
        for line in old.lines:
            if line.product_id not in have:
                current.lines.append(CartLine(product_id=line.product_id, quantity=line.quantity))
        db.session.delete(old)
    for cart in session_carts.values():
        cart.customer_id = customer.id
    # Drop tokens whose cart is gone (ordered or deleted) so the session stays small.
    live = {str(store_id) for store_id in session_carts}
    return {k: v for k, v in tokens.items() if k in live}
