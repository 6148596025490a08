"""Medical cards: a claim until a budtender checks the card (and the state, where it can tell).

A checked card is a fact with a date: who checked it, when, at which store, how it was read,
what the state said, and until when it holds (the card's expiry). Any change to the number or
the expiry, and any refusal by the state, makes the card a claim again.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from extensions import db
from models.base import utcnow
from models.infra import audit
from models.infra.crypto import normalize_identifier
from models.people.customers import Customer, find_by_medical_card, fold_name
from models.people.users import User
from models.sales.orders import Order
from models.sales.totals import recompute
from models.stores.store import Store

READS = {"scan": "scanned", "typed": "typed from the card", "seed": "demo data"}
STATE_CHECKS = {
    "confirmed": "the state confirmed it",
    "not_offered": "the state offers no lookup",
    "dry_run": "state not asked: dry run",
}


class CardCheckRefused(ValueError):
    """The card cannot be verified now; the message says why (422 for the form, 409 refused)."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.message = message
        self.status = status


class StateRefusedCard(CardCheckRefused):
    """The state refused the card, or could not be asked: what was recorded is kept."""


@dataclass(frozen=True)
class StateAnswer:
    """What the state's system said about a card, or why it was not asked, in words."""

    # confirmed | refused | unavailable | not_offered | dry_run
    outcome: str
    message: str
    expires: date | None = None

    @classmethod
    def dry_run(cls, label: str = "The state") -> "StateAnswer":
        """Return the answer of a store that sends nothing to the state."""
        return cls("dry_run", f"Dry run: {label} was not asked about the card.")


def _fmt(day: date) -> str:
    return day.strftime("%b %-d, %Y")


def card_standing(customer: Customer, today: date) -> str:
    """Say where a customer's card stands: none, unverified, verified, or lapsed (was checked)."""
    if not customer.has_card_on_file:
        return "none"
    if customer.card_check_holds(today):
        return "verified"
    return "lapsed" if customer.card_verified_at is not None else "unverified"


def is_own_record(user: User, customer: Customer) -> bool:
    """Say whether a staff member is the customer (same e-mail, or the same name)."""
    if user.email and customer.email and user.email.lower() == customer.email.lower():
        return True
    return bool(customer.name_key) and fold_name(user.name) == customer.name_key


def check_card_form(number: str | None, expires: date | None, read: str | None, checked: bool,
                    today: date) -> tuple[str, date]:  # fmt: skip
    """Refuse a card entry the budtender has not finished; return the trimmed number and expiry."""
    number = (number or "").strip()
    if not checked:
        raise CardCheckRefused(
            "Hold the physical card, check that it belongs to the person in front of you, "
            "and tick the box to say so.",
            422,
        )
    if not 4 <= len(normalize_identifier(number)) <= 40:
        raise CardCheckRefused("Scan the card, or type its number (4 to 40 characters).", 422)
    if expires is None:
        raise CardCheckRefused("Enter the expiry date printed on the card.", 422)
    if read not in ("scan", "typed"):
        raise CardCheckRefused("Say whether you scanned the card or typed its number.", 422)
    if expires < today:
        raise CardCheckRefused(
            f"This card expired on {_fmt(expires)}; an expired card cannot be verified. "
            "Until the patient renews it they buy as adult use."
        )
    return number, expires


def _release_claim(holder: Customer, store: Store, user: User) -> None:
    """Take a card someone only claimed off their record: the person holding it was checked."""
    holder.medical_card_number = None
    holder.medical_card_state = None
    holder.medical_card_expires = None
    holder.clear_card_check()
    holder.kind = "adult_use"
    audit.record(
        "customer.card_claim_released",
        store_id=store.id,
        user_id=user.id,
        customer_id=holder.id,
        reason="The card was checked at the counter for another customer.",
    )
    db.session.flush()


def reclass_open_sales(store: Store, customer: Customer) -> None:
    """Put the customer's open sale at this store in the class their card now gives."""
    customer_class = "medical" if customer.has_verified_medical_card(store) else "adult_use"
    orders = db.session.scalars(
        select(Order).where(
            Order.store_id == store.id,
            Order.channel == "register",
            Order.status == "open",
            Order.customer_id == customer.id,
        )
    )
    for order in orders:
        if order.customer_class != customer_class:
            order.customer_class = customer_class
            recompute(order)


def verify_card(
    store: Store,
    customer: Customer,
    user: User,
    *,
    number: str | None,
    expires: date | None,
    read: str | None,
    checked: bool,
    answer: StateAnswer,
) -> Customer:
    """Record that a budtender checked the card in hand (and the state agreed), or refuse."""
    if not store.sells_medical:
        raise CardCheckRefused("This store does not serve medical patients.", 404)
    today = store.business_date()
    number, expires = check_card_form(number, expires, read, checked, today)
    if is_own_record(user, customer):
        raise CardCheckRefused(
            "You cannot verify your own medical card. Ask another budtender or a manager."
        )
    holder = find_by_medical_card(number)
    other = holder if holder is not None and holder.id != customer.id else None
    if other is not None and other.card_check_holds(today):
        raise CardCheckRefused(
            "This card is already verified for another customer. Check that the card and "
            "the ID belong to the person in front of you; a manager can look into it."
        )
    if answer.outcome in ("refused", "unavailable"):
        record_state_answer(store, user, number, answer, customer)
        raise StateRefusedCard(answer.message)
    if answer.expires is not None and answer.expires != expires:
        raise CardCheckRefused(
            f"The state has this card expiring on {_fmt(answer.expires)}, not "
            f"{_fmt(expires)}. Check the date on the card."
        )
    if other is not None:
        _release_claim(other, store, user)
    customer.medical_card_number = number
    customer.medical_card_state = store.state
    customer.medical_card_expires = expires
    if customer.kind == "adult_use":
        customer.kind = "medical"
    customer.card_verified_at = utcnow()
    customer.card_verified_by_id = user.id
    customer.card_verified_store_id = store.id
    customer.card_verified_read = read
    customer.card_verified_state_check = answer.outcome
    customer.card_verified_until = expires
    customer.card_verified_hash = customer.medical_card_hash
    audit.record(
        "customer.card_verified",
        store_id=store.id,
        user_id=user.id,
        customer_id=customer.id,
        method=read,
        state_check=answer.outcome,
        until=expires.isoformat(),
    )
    db.session.flush()
    reclass_open_sales(store, customer)
    return customer


def record_state_answer(store: Store, user: User, number: str, answer: StateAnswer,
                        customer: Customer | None = None) -> None:  # fmt: skip
    """Keep the state's refusal (or silence) on the audit trail; a refused card loses its check."""
    if answer.outcome == "refused":
        on_file = find_by_medical_card(number)
        if on_file is not None and on_file.card_verified_at is not None:
            # The state says the card is not good: whoever it was checked for loses the check.
            on_file.clear_card_check()
            db.session.flush()
            reclass_open_sales(store, on_file)
        action = "customer.card_refused_by_state"
    else:
        action = "customer.card_check_unavailable"
    audit.record(
        action,
        store_id=store.id,
        user_id=user.id,
        customer_id=customer.id if customer is not None else None,
        reason=answer.message[:300],
    )


def seed_verified(store: Store, customer: Customer, manager: User) -> None:
    """Mark a demo patient's card as checked by a named manager (demo data only), once."""
    today = store.business_date()
    if customer.card_check_holds(today) or customer.medical_card_expires is None:
        return
    customer.medical_card_state = store.state
    customer.card_verified_at = utcnow()
    customer.card_verified_by_id = manager.id
    customer.card_verified_store_id = store.id
    customer.card_verified_read = "seed"
    customer.card_verified_state_check = "dry_run"
    customer.card_verified_until = customer.medical_card_expires
    customer.card_verified_hash = customer.medical_card_hash
    audit.record(
        "customer.card_verified",
        store_id=store.id,
        user_id=manager.id,
        customer_id=customer.id,
        reason=f"Seeded demo data: the card counts as checked at the counter by {manager.name}.",
        method="seed",
        state_check="dry_run",
        until=customer.medical_card_expires.isoformat(),
    )


def how_verified(customer: Customer) -> str:
    """Say in words how the card on file was checked."""
    read = READS.get(customer.card_verified_read or "", customer.card_verified_read or "")
    state = STATE_CHECKS.get(customer.card_verified_state_check or "", "")
    return ", ".join(part for part in (read, state) if part)
