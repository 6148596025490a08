"""Customers: adult-use shoppers, medical patients and caregivers, with encrypted identifiers."""

from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import utcnow
from models.crypto import cipher
from models.passwords import hash_secret, verify_secret

CUSTOMER_KINDS = ("adult_use", "medical", "caregiver")
ADULT_AGE = 21
MEDICAL_AGE = 18

_CARD = b"customer.medical_card_number"
_ID = b"customer.id_number"


def age_on(birth: date, today: date) -> int:
    """Return a person's age in whole years on a given day."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


class Customer(UserMixin, db.Model):
    """A person who buys, in store or online; online login is optional."""

    __tablename__ = "customer"
    __table_args__ = (
        CheckConstraint("kind IN ('adult_use', 'medical', 'caregiver')", name="kind"),
        CheckConstraint(
            "kind = 'adult_use' OR medical_card_hash IS NOT NULL", name="medical_needs_card"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    date_of_birth: Mapped[date]
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="adult_use")
    medical_card_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    medical_card_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    medical_card_state: Mapped[str | None] = mapped_column(String(2))
    medical_card_expires: Mapped[date | None]
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    id_state: Mapped[str | None] = mapped_column(String(2))
    id_expires: Mapped[date | None]
    resident_state: Mapped[str] = mapped_column(String(2))
    # Indexed: every limit check looks up the caregivers buying for a patient.
    caregiver_for_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id", ondelete="SET NULL"), index=True
    )
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    caregiver_for: Mapped["Customer | None"] = relationship(remote_side=[id])

    def get_id(self) -> str:
        return f"customer:{self.id}"

    @property
    def name(self) -> str:
        """Return the full name."""
        return f"{self.first_name} {self.last_name}"

    @property
    def medical_card_number(self) -> str | None:
        """Return the decrypted medical card number (audit the view where it is shown)."""
        if self.medical_card_enc is None:
            return None
        return cipher().decrypt(self.medical_card_enc, _CARD)

    @medical_card_number.setter
    def medical_card_number(self, number: str | None) -> None:
        if not number:
            self.medical_card_enc = self.medical_card_hash = None
            return
        self.medical_card_enc = cipher().encrypt(number.strip(), _CARD)
        self.medical_card_hash = cipher().blind_index(number, _CARD)

    @property
    def id_number(self) -> str | None:
        """Return the decrypted government ID number."""
        if self.id_number_enc is None:
            return None
        return cipher().decrypt(self.id_number_enc, _ID)

    @id_number.setter
    def id_number(self, number: str | None) -> None:
        if not number:
            self.id_number_enc = self.id_number_hash = None
            return
        self.id_number_enc = cipher().encrypt(number.strip(), _ID)
        self.id_number_hash = cipher().blind_index(number, _ID)

    @property
    def card_last4(self) -> str | None:
        """Return the last four characters of the medical card, for display."""
        number = self.medical_card_number
        return number[-4:] if number else None

    def set_password(self, password: str) -> None:
        """Hash and store the online account password."""
        self.password_hash = hash_secret(password)

    def check_password(self, password: str) -> bool:
        """Return whether the password matches; accounts without one never match."""
        return verify_secret(self.password_hash, password)

    def has_valid_medical_card(self, today: date) -> bool:
        """Return whether the customer holds an unexpired medical or caregiver card."""
        return (
            self.kind != "adult_use"
            and self.medical_card_expires is not None
            and self.medical_card_expires >= today
        )

    def __repr__(self) -> str:
        return f"<Customer {self.id}>"


def patient_id_for(customer: Customer | None, customer_class: str) -> int | None:
    """Return the patient a caregiver buys for in a medical sale; None for everyone else."""
    if customer is None or customer.kind != "caregiver" or customer_class != "medical":
        return None
    return customer.caregiver_for_id


def find_by_medical_card(number: str) -> Customer | None:
    """Return the customer holding a medical card number, through its keyed hash."""
    digest = cipher().blind_index(number, _CARD)
    return db.session.scalar(select(Customer).where(Customer.medical_card_hash == digest))


def find_by_id_number(number: str) -> list[Customer]:
    """Return customers whose government ID number matches, through its keyed hash."""
    digest = cipher().blind_index(number, _ID)
    return list(db.session.scalars(select(Customer).where(Customer.id_number_hash == digest)))


class SignupRefused(ValueError):
    """A sign-up that the law does not allow, with the message to show."""


def check_signup_age(birth: date, today: date, medical_card_expires: date | None) -> None:
    """Refuse under-21 sign-ups unless a valid medical card makes 18+ enough."""
    age = age_on(birth, today)
    has_card = medical_card_expires is not None and medical_card_expires >= today
    if age >= ADULT_AGE:
        return
    if has_card and age >= MEDICAL_AGE:
        return
    if has_card:
        raise SignupRefused(
            f"You must be at least {MEDICAL_AGE} to register, even with a medical card."
        )
    raise SignupRefused(
        f"You must be {ADULT_AGE} or older to create an account. Medical patients aged "
        f"{MEDICAL_AGE}–20 can register with a valid medical card."
    )
