"""What the emulated state systems hold: facilities, packages, receipts, sessions, and a log."""

import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from models.base import utcnow
from models.infra.crypto import normalize_identifier


@dataclass
class Package:
    """A package at the state: quantity in the state's unit (Each, or Grams as a Decimal)."""

    tag: str
    quantity: Decimal
    unit: str
    active: bool = True


@dataclass
class Facility:
    """One license (Metrc facility or BioTrack location) and what the state holds for it."""

    license: str
    system: str
    name: str
    packages: dict[str, Package] = field(default_factory=dict)
    receipts: list[dict] = field(default_factory=list)
    sales: list[dict] = field(default_factory=list)
    adjustments: list[dict] = field(default_factory=list)


@dataclass
class MetrcUser:
    """A Metrc user key: the licenses it may use and its permissions."""

    licenses: set[str]
    permissions: set[str]


@dataclass
class BioTrackAccount:
    """A BioTrack company (UBI) login and its locations."""

    username: str
    password: str
    licenses: set[str]


@dataclass
class MedicalCard:
    """A card on the state's medical registry: a patient's, or a caregiver's and their patients."""

    number: str
    kind: str = "patient"
    active: bool = True
    expires: date | None = None
    patients: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        """Return the card key BioTrack's card lookup hands out for this card."""
        return f"ck-{self.number}"


@dataclass
class Logged:
    """One request the emulator received."""

    system: str
    method: str
    path: str
    license: str | None
    started: float
    finished: float = 0.0
    status: int | None = None
    fault: str | None = None
    body: object = None
    query: dict = field(default_factory=dict)


class World:
    """The emulated state systems' data, safe to use from the server's threads."""

    def __init__(self):
        self.lock = threading.RLock()
        self.facilities: dict[str, Facility] = {}
        self.vendor_keys: set[str] = set()
        self.metrc_users: dict[str, MetrcUser] = {}
        self.biotrack_accounts: dict[str, BioTrackAccount] = {}
        self.medical_cards: dict[str, MedicalCard] = {}
        self.sessions: dict[str, tuple[str, float]] = {}
        # The first answer to each legacy nonce, given again to a repeat.
        self.nonces: dict[str, object] = {}
        self.log: list[Logged] = []
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self.get_limit_per_second = 50
        self.get_times: dict[str, list[float]] = {}
        self.leak_content_type = False
        self.session_seconds = 3600.0
        self._ids = itertools.count(1001)

    def next_id(self) -> int:
        with self.lock:
            return next(self._ids)

    # Setting up.

    def add_metrc_facility(
        self,
        license: str,
        *,
        vendor_key: str,
        user_key: str,
        name: str = "Emulated dispensary",
        permissions: tuple[str, ...] = ("sales", "packages", "patients"),
    ) -> Facility:
        """Add a Metrc facility reachable with an integrator key and a user key."""
        with self.lock:
            facility = self.facilities.setdefault(license, Facility(license, "metrc", name))
            self.vendor_keys.add(vendor_key)
            user = self.metrc_users.setdefault(user_key, MetrcUser(set(), set(permissions)))
            user.licenses.add(license)
            return facility

    def add_biotrack_location(
        self, license: str, *, ubi: str, username: str, password: str, name: str = "Emulated"
    ) -> Facility:
        """Add a BioTrack location of a company that logs in with a username and password."""
        with self.lock:
            facility = self.facilities.setdefault(license, Facility(license, "biotrack", name))
            account = self.biotrack_accounts.setdefault(
                ubi, BioTrackAccount(username, password, set())
            )
            account.licenses.add(license)
            return facility

    def add_package(self, license: str, tag: str, quantity, unit: str) -> Package:
        """Put a package on a facility's books (unit "Each" or "Grams")."""
        with self.lock:
            package = Package(tag, Decimal(str(quantity)), unit)
            self.facilities[license].packages[tag] = package
            return package

    def register_patient(
        self, number: str, *, active: bool = True, expires: date | None = None
    ) -> MedicalCard:
        """Put a patient's card on the medical registry (or change its standing)."""
        return self._register(number, "patient", active, expires)

    def register_caregiver(
        self, number: str, *patients: str, active: bool = True, expires: date | None = None
    ) -> MedicalCard:
        """Put a caregiver's card on the registry, designated for the patients' cards given."""
        card = self._register(number, "caregiver", active, expires)
        with self.lock:
            card.patients.update(normalize_identifier(p) for p in patients)
        return card

    def _register(self, number: str, kind: str, active: bool, expires: date | None) -> MedicalCard:
        key = normalize_identifier(number)
        with self.lock:
            card = self.medical_cards.setdefault(key, MedicalCard(key, kind))
            card.kind, card.active, card.expires = kind, active, expires
            return card

    def card(self, number: object, kind: str | None = None) -> MedicalCard | None:
        """Return the registry's card with this number, however written (of a kind), or None."""
        if not isinstance(number, str):
            return None
        with self.lock:
            found = self.medical_cards.get(normalize_identifier(number))
        return found if found is not None and kind in (None, found.kind) else None

    def card_by_key(self, key: object) -> MedicalCard | None:
        """Return the card a BioTrack card key was handed out for, or None."""
        with self.lock:
            return next((c for c in self.medical_cards.values() if c.key == key), None)

    def expire_sessions(self) -> None:
        """End every BioTrack session, as when they time out."""
        with self.lock:
            self.sessions.clear()

    def new_session(self, ubi: str) -> str:
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.sessions[token] = (ubi, time.monotonic() + self.session_seconds)
        return token

    def session_ubi(self, token: str | None) -> str | None:
        with self.lock:
            ubi, expires = self.sessions.get(token or "", (None, 0.0))
        return ubi if ubi and expires > time.monotonic() else None

    # Looking at what happened.

    def receipts(self, license: str, *, external_number: str | None = None) -> list[dict]:
        """Return a Metrc facility's receipts (optionally those with our number)."""
        with self.lock:
            rows = list(self.facilities[license].receipts)
        if external_number is None:
            return rows
        return [row for row in rows if row["ExternalReceiptNumber"] == external_number]

    def sales(self, license: str, *, external_number: str | None = None) -> list[dict]:
        """Return a BioTrack location's sales (V3) or legacy sale rows."""
        with self.lock:
            rows = list(self.facilities[license].sales)
        if external_number is None:
            return rows
        return [
            row for row in rows if row.get("ExternalID", row.get("itemnumber")) == external_number
        ]

    def requests(self, method: str | None = None, path_prefix: str = "") -> list[Logged]:
        """Return the requests received, oldest first, optionally filtered."""
        with self.lock:
            rows = list(self.log)
        return [
            row
            for row in rows
            if (method is None or row.method == method) and row.path.startswith(path_prefix)
        ]

    def now_iso(self) -> str:
        return utcnow().strftime("%Y-%m-%dT%H:%M:%S.000")
