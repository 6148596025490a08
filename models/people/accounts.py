"""Customer account upkeep: password reset by a one-time link, and the saved medical card."""

import hashlib
import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import ForeignKey, String, func, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import utcnow
from models.infra import audit
from models.model import Model
from models.people.customers import Customer, find_by_medical_card
from models.people.users import LoginSession

RESET_VALID_FOR = timedelta(hours=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class PasswordReset(Model):
    """A one-time password reset link; only the hash of its token is kept."""

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship()


class ResetRefused(ValueError):
    """The reset link cannot be used (unknown, used or expired); the message says so."""


def request_reset(email: str, now: datetime | None = None) -> tuple[Customer, str] | None:
    """Start a reset for the account with this e-mail; return it and the raw token, or None."""
    now = now or utcnow()
    customer = db.session.scalar(
        select(Customer).where(func.lower(Customer.email) == email.strip().lower())
    )
    if customer is None or customer.password_hash is None:
        return None
    # Only the newest link works: earlier ones are spent as a new one is made.
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.customer_id == customer.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    db.session.add(
        PasswordReset(
            customer_id=customer.id, token_hash=_digest(token), expires_at=now + RESET_VALID_FOR
        )
    )
    audit.record("customer.password_reset_requested", customer_id=customer.id)
    return customer, token


def find_reset(token: str, now: datetime | None = None) -> PasswordReset:
    """Return the live reset a token names, or refuse."""
    now = now or utcnow()
    reset = db.session.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == _digest(token))
    )
    if reset is None or reset.used_at is not None:
        raise ResetRefused("This reset link has already been used or is not valid.")
    if reset.expires_at <= now:
        raise ResetRefused("This reset link has expired. Ask for a new one.")
    return reset


def reset_password(token: str, password: str, now: datetime | None = None) -> Customer:
    """Set a new password through a reset link, spend the link and end every other session."""
    now = now or utcnow()
    reset = find_reset(token, now)
    customer = reset.customer
    customer.set_password(password)
    customer.failed_logins = 0
    customer.locked_until = None
    reset.used_at = now
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.customer_id == customer.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    audit.record("customer.password_reset", customer_id=customer.id)
    return customer


class CardRefused(ValueError):
    """The medical card cannot be saved; the message says why."""


def save_medical_card(
    customer: Customer, number: str, state: str, expires: date, today: date
) -> None:
    """Save the customer's medical card (encrypted) as a claim a budtender checks at the counter.

    A changed number, state or expiry makes a checked card unchecked again.
    """
    number = number.strip()
    if expires < today:
        raise CardRefused("This card has expired. Renew it with the state before saving it.")
    holder = find_by_medical_card(number)
    if holder is not None and holder.id != customer.id:
        raise CardRefused("This card is registered to another account. Ask the store to help.")
    same = (
        holder is not None
        and customer.medical_card_state == state
        and customer.medical_card_expires == expires
    )
    if not same:
        customer.medical_card_number = number
        customer.medical_card_state = state
        customer.medical_card_expires = expires
        customer.clear_card_check()
    if customer.kind == "adult_use":
        customer.kind = "medical"
    audit.record("customer.medical_card_saved", customer_id=customer.id, changed=not same)


def remove_medical_card(customer: Customer) -> None:
    """Forget the customer's medical card; they buy as adult use again."""
    if customer.kind == "caregiver":
        raise CardRefused("A caregiver's card is managed by the store. Please ask a budtender.")
    customer.medical_card_number = None
    customer.medical_card_state = None
    customer.medical_card_expires = None
    customer.clear_card_check()
    customer.kind = "adult_use"
    audit.record("customer.medical_card_removed", customer_id=customer.id)
