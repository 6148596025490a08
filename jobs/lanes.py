"""A license's reporting lane: one sender at a time (a lease row), paced to the request budget.

The lease lives in the database, so it holds across RQ workers on any number of machines. It is
renewed before every request to the state; a sender that finds it lost stops before sending.
"""

import random
import time
import uuid
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, or_, select, update

from extensions import db
from models.compliance.clock import clock
from models.compliance.outbox import ComplianceLicense, ensure_license_row
from tracktrace.settings import setting


class LeaseLost(Exception):
    """Another sender took the license over (ours expired): stop without sending."""


def backoff_seconds(attempts: int) -> float:
    """Return the wait after the n-th failed try: doubling from the base, capped, with jitter."""
    base = setting("TRACKTRACE_BACKOFF_SECONDS")
    cap = setting("TRACKTRACE_BACKOFF_CAP_SECONDS")
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    # Half fixed, half random: retries of many licenses spread out, none comes back at once.
    return delay / 2 + random.uniform(0, delay / 2)


class Lane:
    """One sender's hold on a license."""

    def __init__(self, store_id: int, owner: str | None = None):
        self.store_id = store_id
        self.owner = owner or uuid.uuid4().hex
        self._previous: float | None = None
        self._sent_at: datetime | None = None

    def _claim(self, *, renew_only: bool) -> bool:
        now = clock.now()
        until = now + timedelta(seconds=setting("TRACKTRACE_LEASE_SECONDS"))
        condition = ComplianceLicense.lease_owner == self.owner
        if not renew_only:
            condition = or_(
                condition,
                ComplianceLicense.lease_owner.is_(None),
                ComplianceLicense.lease_until < now,
            )
        result = db.session.execute(
            update(ComplianceLicense)
            .where(ComplianceLicense.store_id == self.store_id, condition)
            .values(lease_owner=self.owner, lease_until=until)
        )
        db.session.commit()
        # An UPDATE's result is a CursorResult, which the session's signature does not say.
        return cast(CursorResult, result).rowcount == 1

    def acquire(self) -> bool:
        """Take the license if no live sender holds it."""
        ensure_license_row(self.store_id)
        return self._claim(renew_only=False)

    def release(self) -> None:
        """Let the next sender in, telling it when our last request really went out."""
        db.session.rollback()
        values: dict[str, str | datetime | None] = {"lease_owner": None, "lease_until": None}
        if self._sent_at is not None:
            values["last_request_at"] = self._sent_at
        db.session.execute(
            update(ComplianceLicense)
            .where(
                ComplianceLicense.store_id == self.store_id,
                ComplianceLicense.lease_owner == self.owner,
            )
            .values(**values)
        )
        db.session.commit()

    def pace(self) -> None:
        """Before each request: make sure the lease is still ours, and keep to the budget."""
        db.session.rollback()
        if not self._claim(renew_only=True):
            raise LeaseLost(f"lost the lease on store {self.store_id}")
        # A hair over 1/rate, so no one-second window can ever hold rate + 1 requests.
        interval = 1.0 / setting("TRACKTRACE_RATE_PER_LICENSE") + 0.002
        last = db.session.scalar(
            select(ComplianceLicense.last_request_at).where(
                ComplianceLicense.store_id == self.store_id
            )
        )
        # Never sleep inside a transaction: on SQLite it would hold every writer up.
        db.session.rollback()
        if last is not None:
            clock.sleep((last + timedelta(seconds=interval) - clock.now()).total_seconds())
        db.session.execute(
            update(ComplianceLicense)
            .where(ComplianceLicense.store_id == self.store_id)
            .values(last_request_at=clock.now())
        )
        # Committed at once: no transaction may stay open while the request is in flight.
        db.session.commit()
        if self._previous is not None:
            # The commit may have waited for the lock: measure the gap at the moment of sending.
            clock.sleep(self._previous + interval - time.monotonic())
        self._previous = time.monotonic()
        self._sent_at = clock.now()
