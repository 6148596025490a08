"""What both BioTrack APIs share: the session cache, dates, card answers, and the adapter base."""

import re
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from models.compliance.payloads import LineFact, SaleFact
from tracktrace.base import Adapter, CardAnswer, Rejected
from tracktrace.http import DEFAULT_TIMEOUT, HttpClient

# OpenTHC caches V3 sessions for an hour although they last about a week.
SESSION_SECONDS = 3600
SESSION_EXPIRED = re.compile(r"session.+expired", re.IGNORECASE)
LEAKED_HEADER = re.compile(r"^\s*Content-Type:[^\n]*\n", re.IGNORECASE)

_sessions: dict[tuple, tuple[str, float]] = {}
_sessions_lock = threading.Lock()


NOT_BIOTRACKS = "an answer that is not BioTrack's error text (not shown)"


def cached_session(key: tuple) -> str | None:
    """Return a session token this process got recently for these credentials."""
    with _sessions_lock:
        token, expires = _sessions.get(key, (None, 0.0))
    return token if token and expires > time.monotonic() else None


def remember_session(key: tuple, token: str | None) -> None:
    """Keep a session token for reuse, or forget it when None."""
    with _sessions_lock:
        if token is None:
            _sessions.pop(key, None)
        else:
            _sessions[key] = (token, time.monotonic() + SESSION_SECONDS)


def rfc3339(utc_iso: str, zone: ZoneInfo) -> str:
    """Return a local time with a colon in the offset (Go's RFC 3339 rejects -0600)."""
    return datetime.fromisoformat(utc_iso).astimezone(zone).isoformat(timespec="seconds")


def card_date(value) -> date | None:
    """Return a card's expiry from {"Year", "Month", "Day"} or "YYYY-MM-DD", or None."""
    try:
        if isinstance(value, dict):
            return date(int(value["Year"]), int(value["Month"]), int(value["Day"]))
        if isinstance(value, str) and value:
            return date.fromisoformat(value[:10])
    except (KeyError, TypeError, ValueError):
        return None
    return None


def card_refusal(active: bool, expires: date | None, today: date) -> str | None:
    """Say in words why BioTrack does not accept a card (None for an active one)."""
    if active:
        return None
    if expires is not None and expires < today:
        return f"BioTrack says this card is not active (it expired on {expires:%b %-d, %Y})."
    return "BioTrack says this card is not active."


NO_SUCH_CARD = "BioTrack has no patient card with this number."


def sale_type(fact: SaleFact) -> str:
    """Return BioTrack's sale type: recreational for a consumer, medical otherwise."""
    return "RECREATIONAL" if fact.get("customer_type", "consumer") == "consumer" else "MEDICAL"


def tagged_lines(lines: list[LineFact]) -> list[LineFact]:
    """Return a fact's lines, refusing any without a package barcode."""
    for line in lines:
        if not line.get("tag"):
            raise Rejected(
                f"Line “{line.get('name', '?')}” has no package barcode; BioTrack needs the "
                "package of every line. Fix the sale's lines, then retry."
            )
    return lines


class SessionExpired(Exception):
    """BioTrack said the session expired; log in again."""


class BioTrackAdapter(Adapter):
    """One license's BioTrack connection: its zone, its session key and its HTTP client."""

    system = "biotrack"

    def __init__(
        self,
        *,
        base_url: str,
        license_number: str,
        session_key: tuple,
        zone: ZoneInfo,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        pace: Callable[[], None] | None = None,
    ):
        super().__init__()
        self.license_number = license_number
        self.zone = zone
        self._session_key = session_key
        self.http = HttpClient(
            base_url, label="BioTrack", exchanges=self.exchanges, timeout=timeout, pace=pace
        )

    def card_answer(self, active: bool, expires: date | None, key: str | None = None) -> CardAnswer:
        """Return a card lookup's answer, judged on the license's local date."""
        today = datetime.now(self.zone).date()
        return CardAnswer(active, expires, card_refusal(active, expires, today), key)
