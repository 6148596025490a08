"""Customers: adult-use shoppers, medical patients and caregivers, with encrypted identifiers."""

import re
import unicodedata
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from extensions import db
from models.base import utcnow
from models.infra.crypto import cipher, normalize_identifier
from models.infra.passwords import hash_secret, verify_secret
from models.model import Model

CUSTOMER_KINDS = ("adult_use", "medical", "caregiver")
ADULT_AGE = 21
MEDICAL_AGE = 18

_CARD = b"customer.medical_card_number"
_ID = b"customer.id_number"


def age_on(birth: date, today: date) -> int:
    """Return a person's age in whole years on a given day."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def fold_name(text: str | None) -> str:
    """Return a name as matching compares it: no accents or case, apostrophes dropped, no dashes."""
    # A license prints TOMAS HERRERA or OBRIEN where the account says Tomás Herrera or O'Brien.
    plain = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in plain if not unicodedata.combining(c)).casefold()
    plain = re.sub(r"['’`´.]", "", plain)
    return " ".join(re.sub(r"[^0-9a-z]+", " ", plain).split())


def name_key(first: str | None, last: str | None) -> str:
    """Return the folded full name a customer is found by ("tomas herrera")."""
    return f"{fold_name(first)} {fold_name(last)}".strip()


def id_number_hash(number: str) -> str:
    """Return the keyed hash a government ID number is found by (the number is never kept)."""
    return cipher().blind_index(number, _ID)


class Customer(UserMixin, Model):
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
    # The card's last four characters, so a budtender can search by them (never the number).
    medical_card_last4: Mapped[str | None] = mapped_column(String(4), index=True)
    medical_card_state: Mapped[str | None] = mapped_column(String(2))
    medical_card_expires: Mapped[date | None]
    # A card is only a claim until a budtender checked it (and the state, where it can tell):
    # who, when, at which store, how it was read, what the state said, and until when it holds.
    # The hash ties the check to the card that was checked: another number is unverified.
    card_verified_at: Mapped[datetime | None]
    card_verified_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    card_verified_store_id: Mapped[int | None] = mapped_column(
        ForeignKey("store.id", ondelete="SET NULL")
    )
    card_verified_read: Mapped[str | None] = mapped_column(String(8))
    card_verified_state_check: Mapped[str | None] = mapped_column(String(16))
    card_verified_until: Mapped[date | None]
    card_verified_hash: Mapped[str | None] = mapped_column(String(64))
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    id_state: Mapped[str | None] = mapped_column(String(2))
    id_expires: Mapped[date | None]
    # The folded name ("tomas herrera"): found by a scan's name and birth date, and by search.
    name_key: Mapped[str | None] = mapped_column(String(170), index=True)
    resident_state: Mapped[str] = mapped_column(String(2))
    # Indexed: every limit check looks up the caregivers buying for a patient.
    caregiver_for_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id", ondelete="SET NULL"), index=True
    )
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    caregiver_for: Mapped["Customer | None"] = relationship(remote_side=[id])
    card_verified_by = relationship("User", foreign_keys=[card_verified_by_id], viewonly=True)
    card_verified_store = relationship(
        "Store", foreign_keys=[card_verified_store_id], viewonly=True
    )

    @validates("first_name", "last_name")
    def _keep_name_key(self, field: str, value: str) -> str:
        first = value if field == "first_name" else self.first_name
        last = value if field == "last_name" else self.last_name
        self.name_key = name_key(first, last)
        return value

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
            self.medical_card_enc = self.medical_card_hash = self.medical_card_last4 = None
            return
        self.medical_card_enc = cipher().encrypt(number.strip(), _CARD)
        self.medical_card_hash = cipher().blind_index(number, _CARD)
        self.medical_card_last4 = normalize_identifier(number)[-4:]

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
        self.id_number_hash = id_number_hash(number)

    @property
    def card_last4(self) -> str | None:
        """Return the last four characters of the medical card, for display (never decrypted)."""
        return self.medical_card_last4

    def set_password(self, password: str) -> None:
        """Hash and store the online account password."""
        self.password_hash = hash_secret(password)

    def check_password(self, password: str) -> bool:
        """Return whether the password matches; accounts without one never match."""
        return verify_secret(self.password_hash, password)

    @property
    def has_card_on_file(self) -> bool:
        """Say whether a medical or caregiver card is on file, checked or not."""
        return self.kind != "adult_use" and self.medical_card_hash is not None

    def card_check_holds(self, today: date) -> bool:
        """Return whether a person checked the card on file and that check still holds today."""
        return (
            self.has_card_on_file
            and self.card_verified_at is not None
            and self.card_verified_hash == self.medical_card_hash
            and self.card_verified_until is not None
            and self.card_verified_until == self.medical_card_expires
            and self.card_verified_until >= today
        )

    def has_verified_medical_card(self, store, today: date | None = None) -> bool:
        """Return whether the customer buys as a patient at a store: a checked card of its state."""
        today = today or store.business_date()
        return (
            store.sells_medical
            and self.medical_card_state == store.state
            and self.card_check_holds(today)
        )

    def clear_card_check(self) -> None:
        """Forget that the card was checked (it changed, or the state refused it)."""
        self.card_verified_at = None
        self.card_verified_by_id = None
        self.card_verified_store_id = None
        self.card_verified_read = None
        self.card_verified_state_check = None
        self.card_verified_until = None
        self.card_verified_hash = None

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
    digest = id_number_hash(number)
    return list(db.session.scalars(select(Customer).where(Customer.id_number_hash == digest)))


def find_by_name_and_birth(first: str, last: str, birth: date) -> list[Customer]:
    """Return customers with this name (accents and case aside) and date of birth."""
    key = name_key(first, last)
    return list(
        db.session.scalars(
            select(Customer)
            .where(Customer.name_key == key, Customer.date_of_birth == birth)
            .order_by(Customer.id)
        )
    )


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
