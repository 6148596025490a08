"""Stores (licensed facilities) and their settings."""

import json
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, CheckConstraint, LargeBinary, String, select
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import utcnow
from models.infra.crypto import cipher
from models.model import Model

# The state systems a store reports to, by how people name them.
TRACKTRACE_LABELS = {"metrc": "Metrc", "biotrack": "BioTrack"}


class Store(Model):
    """A licensed dispensary location."""

    __tablename__ = "store"
    __table_args__ = (
        CheckConstraint("tracktrace_system IN ('metrc', 'biotrack')", name="tracktrace_system"),
        CheckConstraint("length(state) = 2", name="state_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    license_number: Mapped[str] = mapped_column(String(40), unique=True)
    state: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64))
    street: Mapped[str] = mapped_column(String(160))
    city: Mapped[str] = mapped_column(String(80))
    postal_code: Mapped[str] = mapped_column(String(12))
    phone: Mapped[str] = mapped_column(String(32), default="")
    hours: Mapped[dict] = mapped_column(JSON, default=dict)
    sells_adult_use: Mapped[bool] = mapped_column(default=True)
    sells_medical: Mapped[bool] = mapped_column(default=False)
    online_ordering: Mapped[bool] = mapped_column(default=True)
    rule_pack: Mapped[str] = mapped_column(String(8))
    # Pack local-tax name -> basis points as a string, e.g. {"gross_receipts": "787.5"}.
    local_tax_rates_bp: Mapped[dict] = mapped_column(JSON, default=dict)
    tracktrace_system: Mapped[str] = mapped_column(String(16))
    # A dry-run store records the exact payloads instead of sending them (the demo stores do).
    tracktrace_dry_run: Mapped[bool] = mapped_column(default=True)
    tracktrace_license: Mapped[str] = mapped_column(String(40), default="")
    tracktrace_base_url: Mapped[str] = mapped_column(String(200), default="")
    tracktrace_credentials_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Online pickup settings; empty means the defaults in models.online.pickup.
    pickup_slot_minutes: Mapped[int | None]
    pickup_slot_capacity: Mapped[int | None]
    pickup_grace_minutes: Mapped[int | None]
    pickup_lead_minutes: Mapped[int | None]
    # Discounts above either threshold (percent in hundredths, or cents) need a manager's PIN.
    discount_approval_bp: Mapped[int] = mapped_column(default=1000, server_default="1000")
    discount_approval_cents: Mapped[int] = mapped_column(default=2000, server_default="2000")
    # Cash control. A closing count off by more than this needs a manager's approval.
    drawer_variance_cents: Mapped[int] = mapped_column(default=500, server_default="500")
    # A return refunding more than this, or of a sale more than this many days old, needs a
    # manager's PIN.
    refund_approval_cents: Mapped[int] = mapped_column(default=10000, server_default="10000")
    refund_approval_days: Mapped[int] = mapped_column(default=7, server_default="7")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def zone(self) -> ZoneInfo:
        """Return the store's time zone."""
        return ZoneInfo(self.timezone)

    def local_now(self) -> datetime:
        """Return the current time on the store's clock."""
        return utcnow().astimezone(self.zone)

    def business_date(self, at: datetime | None = None) -> date:
        """Return the business day that an instant falls on, in the store's time zone."""
        return (at or utcnow()).astimezone(self.zone).date()

    def local_tax_rates(self) -> dict[str, Decimal]:
        """Return the local tax rates in basis points, exact (held as strings: 787.5 is 7.875%)."""
        return {name: Decimal(str(bp)) for name, bp in self.local_tax_rates_bp.items()}

    def set_tracktrace_credentials(self, credentials: dict) -> None:
        """Store the state-system credentials encrypted."""
        self.tracktrace_credentials_enc = cipher().encrypt(
            json.dumps(credentials), b"store.tracktrace_credentials"
        )

    def tracktrace_credentials(self) -> dict:
        """Return the decrypted state-system credentials."""
        if not self.tracktrace_credentials_enc:
            return {}
        return json.loads(
            cipher().decrypt(self.tracktrace_credentials_enc, b"store.tracktrace_credentials")
        )

    @property
    def tracktrace_label(self) -> str:
        """Return the state system's name, marked when reports are only recorded."""
        label = TRACKTRACE_LABELS[self.tracktrace_system]
        return f"{label} (dry run)" if self.tracktrace_dry_run else label

    def __repr__(self) -> str:
        return f"<Store {self.code}>"


# The zone whose date is the earliest on Earth (UTC-12): a day not yet begun anywhere else.
_EARLIEST_ZONE = ZoneInfo("Etc/GMT+12")


def earliest_business_date(at: datetime | None = None) -> date:
    """Return the earliest business date any store is on now (for age checks with no store)."""
    at = at or utcnow()
    zones = db.session.scalars(select(Store.timezone).distinct()).all()
    if not zones:
        return at.astimezone(_EARLIEST_ZONE).date()
    return min(at.astimezone(ZoneInfo(zone)).date() for zone in zones)
