"""Checking a customer in at the register: verify the ID, find or record them, open their sale."""

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, or_, select

from extensions import db
from models.base import utcnow
from models.infra import audit
from models.infra.crypto import normalize_identifier
from models.people.customers import Customer, find_by_medical_card, fold_name, id_number_hash
from models.people.id_scan import CheckInRefused, Eligibility, IdDocument, check_eligibility
from models.people.identity import (
    IdentityMismatch,
    names_match,
    person_for_document,
    record_first_id,
    same_id_number,
)
from models.people.medical_cards import CardCheckRefused, StateAnswer, verify_card
from models.people.users import User
from models.rules.purchase_limits import pack_for
from models.sales.orders import Order
from models.stores.store import Store


@dataclass(frozen=True)
class CheckIn:
    """A checked-in customer (None for an anonymous walk-in) and the sale opened for them."""

    order: Order
    customer: Customer | None
    eligibility: Eligibility
    notices: tuple[str, ...] = ()


@dataclass(frozen=True)
class PresentedCard:
    """A medical card the budtender holds at check-in: as read, and what the state said."""

    number: str
    expires: date | None
    read: str | None
    checked: bool
    # None when the state was not asked (the store does not serve patients).
    answer: StateAnswer | None


class CardRefusedAtCheckIn(CheckInRefused):
    """The state refused the card presented at check-in, or could not be asked."""

    def __init__(self, card: PresentedCard):
        super().__init__(card.answer.message if card.answer else "The state could not be asked.")
        self.card = card


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


def open_sale(
    store: Store,
    customer: Customer | None,
    customer_class: str,
    user: User,
    id_hash: str | None = None,
) -> Order:
    """Open a register sale for a checked-in customer, or resume the one they already have."""
    # An anonymous walk-in is known by the keyed hash of their ID: the same ID resumes too.
    if customer is not None or id_hash is not None:
        who = (
            Order.customer_id == customer.id
            if customer is not None
            else (Order.customer_id.is_(None) & (Order.id_number_hash == id_hash))
        )
        existing = db.session.scalar(
            select(Order).where(
                Order.store_id == store.id,
                Order.channel == "register",
                Order.status == "open",
                who,
            )
        )
        if existing is not None:
            existing.id_checked_at = utcnow()
            existing.customer_class = customer_class
            existing.id_number_hash = id_hash or existing.id_number_hash
            return existing
    order = Order(
        store_id=store.id,
        channel="register",
        status="open",
        customer=customer,
        customer_class=customer_class,
        budtender_id=user.id,
        id_checked_at=utcnow(),
        id_number_hash=id_hash,
        tax_lines=[],
    )
    db.session.add(order)
    db.session.flush()
    return order


def _unverified_notice(store: Store, customer: Customer | None) -> str | None:
    """Say that a card on file was not checked, where the store could sell to the patient."""
    if customer is None or not store.sells_medical or not customer.has_card_on_file:
        return None
    if customer.has_verified_medical_card(store):
        return None
    return (
        f"{customer.first_name}'s medical card is not verified: selling as adult use. Verify "
        "the card on their record to sell as medical."
    )


def _eligibility_for(store: Store, customer: Customer | None, birth: date,
                     id_expires: date | None, **card) -> Eligibility:  # fmt: skip
    """Check eligibility; a refusal says when an unchecked card on file is why."""
    try:
        return _eligibility(store, birth, id_expires, **card)
    except CheckInRefused as refusal:
        if card.get("card_expires") is None and _unverified_notice(store, customer):
            raise CheckInRefused(
                f"{refusal} Their medical card on file is not verified yet: verify it on their "
                "record first."
            ) from refusal
        raise


def _check_presented(card: PresentedCard) -> None:
    """Refuse a card entered at check-in that the budtender has not finished."""
    if not card.checked:
        raise CheckInRefused(
            "Hold the physical card, check that it belongs to the person in front of you, and "
            "tick the box to say so (or clear the card fields for an adult-use sale)."
        )
    if card.expires is None:
        raise CheckInRefused("Enter the medical card's expiry date to record the card.")


def check_in_document(
    store: Store,
    document: IdDocument,
    user: User,
    *,
    card: PresentedCard | None = None,
) -> CheckIn:
    """Check in the holder of a scanned license: refuse, or record them and open their sale."""
    try:
        customer = person_for_document(document)
    except IdentityMismatch as mismatch:
        raise CheckInRefused(str(mismatch)) from mismatch
    notices: list[str] = []
    if card is not None:
        _check_presented(card)
        eligibility = _eligibility(
            store,
            document.date_of_birth,
            document.expires,
            card_expires=card.expires,
            card_presented=True,
        )
        if card.answer is None:
            notices.append("This store sells adult use only: the medical card was not recorded.")
            card = None
        elif card.answer.outcome in ("refused", "unavailable"):
            raise CardRefusedAtCheckIn(card)
    else:
        verified = customer is not None and customer.has_verified_medical_card(store)
        eligibility = _eligibility_for(
            store,
            customer,
            document.date_of_birth,
            document.expires,
            card_expires=customer.medical_card_expires if customer and verified else None,
        )
        notice = _unverified_notice(store, customer)
        if notice:
            notices.append(notice)
    if customer is None:
        customer = Customer(
            first_name=document.first_name[:80],
            last_name=document.last_name[:80],
            date_of_birth=document.date_of_birth,
            resident_state=document.state,
            kind="adult_use",
        )
        db.session.add(customer)
        record_first_id(customer, document.id_number, document.state, store, user)
    elif customer.id_number_hash is None:
        record_first_id(customer, document.id_number, document.state, store, user)
    elif not names_match(customer, document.first_name, document.last_name, document.middle_name):
        notices.append(
            f"The name on the ID ({document.name}) differs from the record ({customer.name}). "
            "A manager can correct the record (Edit identity)."
        )
    if same_id_number(customer, document.id_number):
        # The same ID, renewed: its new expiry is noted (the identity itself is unchanged).
        customer.id_state = document.state
        customer.id_expires = document.expires
    db.session.flush()
    # A card the state was not asked about was set aside above (card is None then).
    if card is not None and card.answer is not None:
        try:
            verify_card(
                store,
                customer,
                user,
                number=card.number,
                expires=card.expires,
                read=card.read,
                checked=card.checked,
                answer=card.answer,
            )
        except CardCheckRefused as refusal:
            raise CheckInRefused(refusal.message) from refusal
    order = open_sale(
        store, customer, eligibility.customer_class, user, id_number_hash(document.id_number)
    )
    audit.record(
        "register.checkin",
        store_id=store.id,
        user_id=user.id,
        customer_id=customer.id,
        obj=order,
        method="scan",
        customer_class=eligibility.customer_class,
    )
    return CheckIn(order, customer, eligibility, tuple(notices))


def check_in_manual(
    store: Store,
    user: User,
    *,
    birth: date,
    id_expires: date,
    id_number: str,
) -> CheckIn:
    """Check in a walk-in from the dates and number typed off the ID (only its hash is kept)."""
    if len(normalize_identifier(id_number or "")) < 4:
        raise CheckInRefused("Type the ID number from the ID (at least 4 characters).")
    eligibility = _eligibility(store, birth, id_expires)
    order = open_sale(store, None, eligibility.customer_class, user, id_number_hash(id_number))
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
    """Check in a returning customer from their record (ID expiry and a checked card on file)."""
    verified = customer.has_verified_medical_card(store)
    eligibility = _eligibility_for(
        store,
        customer,
        customer.date_of_birth,
        customer.id_expires,
        card_expires=customer.medical_card_expires if verified else None,
    )
    order = open_sale(store, customer, eligibility.customer_class, user, customer.id_number_hash)
    audit.record(
        "register.checkin",
        store_id=store.id,
        user_id=user.id,
        customer_id=customer.id,
        obj=order,
        method="lookup",
        customer_class=eligibility.customer_class,
    )
    notice = _unverified_notice(store, customer)
    return CheckIn(order, customer, eligibility, (notice,) if notice else ())


def search_customers(text: str, limit: int = 8) -> list[Customer]:
    """Find customers by name (accents aside), phone digits, or medical card (last four or all)."""
    text = (text or "").strip()
    if len(text) < 2:
        return []
    found: list[Customer] = []
    holder = find_by_medical_card(text) if re.search(r"\d", text) else None
    if holder is not None:
        found.append(holder)
    digits = re.sub(r"\D", "", text)
    clauses = []
    words = [fold_name(w) for w in re.split(r"\s+", text) if w and not w.isdigit()]
    words = [w for w in words if w]
    if words:
        # Every word must appear in the folded name ("ros herr" finds Rosa Herrera, "tomas"
        # finds Tomás).
        clauses.append(and_(*[Customer.name_key.contains(word, autoescape=True) for word in words]))
    if len(digits) >= 4:
        phone = func.replace(func.replace(func.replace(Customer.phone, "-", ""), " ", ""), ".", "")
        clauses.append(phone.contains(digits, autoescape=True))
        # A card is found by its last four characters (only those are kept in the clear).
        clauses.append(Customer.medical_card_last4 == normalize_identifier(text)[-4:])
    if clauses:
        rows = db.session.scalars(
            select(Customer)
            .where(or_(*clauses))
            .order_by(Customer.last_name, Customer.first_name)
            .limit(limit)
        )
        found.extend(c for c in rows if c not in found)
    return found[:limit]
