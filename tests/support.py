"""Constants and helpers shared by the tests (conftest modules only hold fixtures)."""

import contextvars
import os
import re
import uuid
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import time_machine
from flask.testing import FlaskClient

from app import create_app
from extensions import db
from models.stores.store import earliest_business_date

TEST_FIELD_KEY = "dGVzdC1maWVsZC1rZXktdGVzdC1maWVsZC1rZXktMzI="
PASSWORD = "correct-horse-battery"
DATABASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = DATABASE_URL.startswith("postgres")
IN_CI = os.environ.get("CI") == "true"

# Every test store is in this zone unless a test says otherwise (conftest's make_store).
TEST_ZONE = ZoneInfo("America/Denver")

CSRF_TOKEN = re.compile(
    r'(?:name="csrf-token" content|name="csrf_token" type="hidden" value)="([^"]+)"'
)


def store_today(store=None) -> date:
    """Return a store's business date (the test stores' zone by default), never the host's."""
    if store is not None:
        return store.business_date()
    return datetime.now(TEST_ZONE).date()


def shopper_today() -> date:
    """Return the date a shopper with no store chosen is judged on: the earliest any store is on."""
    return earliest_business_date()


def store_midday(store):
    """Travel (ticking) to noon of the store's business day, for tests that need the store open."""
    noon = datetime.combine(store.business_date(), time(12, 0), tzinfo=store.zone)
    return time_machine.travel(noon, tick=True)


def years_before(day: date, years: int) -> date:
    """Return the same calendar day `years` earlier (29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def base_config(database_uri: str) -> dict:
    """Return settings for a test app on a given database."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "SECRET_KEY": "test-secret-key",
        "FIELD_ENCRYPTION_KEY": TEST_FIELD_KEY,
        "REDIS_URL": None,
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_KEY_PREFIX": f"pistil-test-{uuid.uuid4().hex[:8]}",
        "SERVER_NAME": None,
    }


def migrate_to_head(database_uri: str) -> None:
    """Run the committed migrations against a database."""
    from flask_migrate import upgrade

    app = create_app(base_config(database_uri))
    with app.app_context():
        upgrade(revision="heads")
        db.engine.dispose()


def psycopg_url(url: str) -> str:
    """Return a SQLAlchemy URL that uses psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


class CsrfClient(FlaskClient):
    """A test client that sends a valid CSRF token with mutations unless told not to.

    Each request runs in an empty context so it gets its own app context, `g` and database
    session, as in production, instead of sharing the test body's.
    """

    def _isolated(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        # The request committed in its own session: forget what this one cached.
        db.session.rollback()
        return response

    def csrf_token(self) -> str:
        """Fetch a token for the current session from a page's meta tag."""
        page = self._isolated("/staff/login", method="GET")
        return CSRF_TOKEN.search(page.get_data(as_text=True)).group(1)

    def open(self, *args, csrf: bool = True, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        if csrf and method in ("POST", "PUT", "PATCH", "DELETE"):
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", self.csrf_token())
            kwargs["headers"] = headers
        return self._isolated(*args, **kwargs)


def check_card_at(store, customer, user) -> None:
    """Record that a budtender checked the customer's card on file at a store (a dry-run state)."""
    from models.people.medical_cards import StateAnswer, verify_card

    verify_card(
        store,
        customer,
        user,
        number=customer.medical_card_number,
        expires=customer.medical_card_expires,
        read="scan",
        checked=True,
        answer=StateAnswer.dry_run(),
    )
    db.session.commit()
