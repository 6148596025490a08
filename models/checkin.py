"""Checking a customer in at the register: verify the ID, find or record them, open their sale."""

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, or_, select

from extensions import db
from models import audit
from models.base import utcnow
from models.customers import Customer, find_by_id_number, find_by_medical_card
from models.id_scan import CheckInRefused, Eligibility, IdDocument, check_eligibility
from models.orders import Order
from models.purchase_limits import pack_for
from models.stores import Store
from models.users import User


@dataclass(frozen=True)
class CheckIn:
    """A checked-in customer (None for an anonymous walk-in) and the sale opened for them."""

    order: Order
    customer: Customer | None
    eligibility: Eligibility


def _eligibility(store: Store, birth: date, id_expires: date | None, **card) -> Eligibility:
    return check_eligibility(
        birth=birth,
        id_expires=id_expires,
        today=store.business_date(),
        sells_adult_use=store.sells_adult_use,
        sells_medical=store.sells_medical,
        pack=pack_for(store),
        **card,
    )


def open_sale(store: Store, customer: Customer | None, customer_class: str, user: User) -> Order:
    """Open a register sale for a checked-in customer, or resume the one they already have."""
    if customer is not None:
        existing = db.session.scalar(
            select(Order).where(
                Order.store_id == store.id,
                Order.channel == "register",
                Order.status == "open",
                Order.customer_id == customer.id,
            )
        )
        if existing is not None:
            existing.id_checked_at = utcnow()
            existing.customer_class = customer_class
            return existing
    order = Order(
        store_id=store.id,
        channel="register",
        status="open",
        customer=customer,
        customer_class=customer_class,
        budtender_id=user.id,
        id_checked_at=utcnow(),
        tax_lines=[],
    )
    db.session.add(order)
    db.session.flush()
    return order


def _card_holder(card_number: str | None, birth: date) -> Customer | None:
    if not card_number:
        return None
    holder = find_by_medical_card(card_number)
    if holder is not None and holder.date_of_birth != birth:
        raise CheckInRefused(
            "That medical card is registered to someone with another date of birth. "
            "Check the card and the ID belong to the same person."
        )
    return holder


def check_in_document(
    store: Store,
    document: IdDocument,
    user: User,
    *,
    card_number: str | None = None,
    card_expires: date | None = None,
) -> CheckIn:
    """Check in the holder of a scanned license: refuse, or record them and open their sale."""
    card_number = (card_number or "").strip() or None
    holder = _card_holder(card_number, document.date_of_birth)
    matches = [
        c
        for c in find_by_id_number(document.id_number)
        if c.date_of_birth == document.date_of_birth and c.id_state in (None, document.state)
    ]
    customer = holder or (matches[0] if matches else None)
    on_file_card = None
    if customer is not None and customer.kind != "adult_use":
        on_file_card = customer.medical_card_expires
    if card_number and holder is None and card_expires is None:
        raise CheckInRefused("Enter the medical card's expiry date to record the card.")
    effective_card = card_expires or on_file_card
    eligibility = _eligibility(
        store,
        document.date_of_birth,
        document.expires,
        card_expires=effective_card,
        card_presented=card_number is not None,
    )
    if customer is None:
        customer = Customer(
            first_name=document.first_name[:80],
            last_name=document.last_name[:80],
            date_of_birth=document.date_of_birth,
            resident_state=document.state,
            kind="adult_use",
        )
        db.session.add(customer)
    customer.id_number = document.id_number
    customer.id_state = document.state
    customer.id_expires = document.expires
    if card_number and holder is None:
        customer.medical_card_number = card_number
        customer.medical_card_state = store.state
        customer.medical_card_expires = card_expires
        if customer.kind == "adult_use":
            customer.kind = "medical"
    elif card_number and card_expires is not None:
        customer.medical_card_expires = card_expires
    db.session.flush()
    order = open_sale(store, customer, eligibility.customer_class, user)
    audit.record(
        "register.checkin",
        store_id=store.id,
        user_id=user.id,
        customer_id=customer.id,
        obj=order,
        method="scan",
        customer_class=eligibility.customer_class,
    )
    return CheckIn(order, customer, eligibility)


def check_in_manual(
    store: Store,
    user: User,
    *,
    birth: date,
    id_expires: date,
    first_name: str = "",
    last_name: str = "",
) -> CheckIn:
    """Check in a walk-in from the date of birth and ID expiry typed off the ID (no record kept)."""
    eligibility = _eligibility(store, birth, id_expires)
    del first_name, last_name  # a walk-in typed by hand stays anonymous: nothing else is stored
    order = open_sale(store, None, eligibility.customer_class, user)
    audit.record(
        "register.checkin",
        store_id=store.id,
        user_id=user.id,
        obj=order,
        method="manual",
        customer_class=eligibility.customer_class,
    )
    return CheckIn(order, None, eligibility)


def check_in_customer(store: Store, customer: Customer, user: User) -> CheckIn:
    """Check in a returning customer from their record (ID expiry and card on file)."""
    eligibility = _eligibility(
        store,
        customer.date_of_birth,
        customer.id_expires,
        card_expires=customer.medical_card_expires if customer.kind != "adult_use" else None,
    )
    order = open_sale(store, customer, eligibility.customer_class, user)
    audit.record(
        "register.checkin",
        store_id=store.id,
        user_id=user.id,
        customer_id=customer.id,
        obj=order,
        method="lookup",
        customer_class=eligibility.customer_class,
    )
    return CheckIn(order, customer, eligibility)


def search_customers(text: str, limit: int = 8) -> list[Customer]:
    """Find customers by name, phone digits, or medical card number (through its keyed hash)."""
    text = (text or "").strip()
    if len(text) < 2:
        return []
    found: list[Customer] = []
    holder = find_by_medical_card(text) if re.search(r"\d", text) else None
    if holder is not None:
        found.append(holder)
    digits = re.sub(r"\D", "", text)
    clauses = []
    words = [w for w in re.split(r"\s+", text) if w and not w.isdigit()]
    if words:
        # Every word must appear in the name ("ros herr" finds Rosa Herrera).
        name = func.lower(Customer.first_name + " " + Customer.last_name)
        clauses.append(and_(*[name.contains(word.lower(), autoescape=True) for word in words]))
    if len(digits) >= 4:
        phone = func.replace(func.replace(func.replace(Customer.phone, "-", ""), " ", ""), ".", "")
        clauses.append(phone.contains(digits, autoescape=True))
    if clauses:
        rows = db.session.scalars(
            select(Customer)
            .where(or_(*clauses))
            .order_by(Customer.last_name, Customer.first_name)
            .limit(limit)
        )
        found.extend(c for c in rows if c not in found)
    return found[:limit]
