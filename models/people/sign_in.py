"""Checking a sign-in's password, with a lock on the account after repeated failures.

An unknown e-mail address costs the same Argon2 work as a known one, so the answer's timing does
not tell which addresses have an account. The account's row is locked while its password is
checked, so wrong passwords sent in parallel are counted one after another and cannot get past
the lock.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import func, select

from extensions import db
from models.base import utcnow
from models.infra.passwords import verify_secret
from models.people.customers import Customer
from models.people.users import User

LOCK_MINUTES = 15
# Staff and customers sign in the same way, each against their own table.
Account = TypeVar("Account", User, Customer)


@dataclass(frozen=True)
class SignInAttempt:
    """What a password attempt came to: "ok", "wrong" or "locked", and the account if any."""

    outcome: str
    account: User | Customer | None = None


def try_password(model: type[Account], email: str, password: str, lock_after: int) -> SignInAttempt:
    """Check an account's password; lock it for LOCK_MINUTES after `lock_after` failures."""
    account = db.session.scalar(
        select(model)
        .where(func.lower(model.email) == email.strip().lower())
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if account is None:
        verify_secret(None, password)
        return SignInAttempt("wrong")
    now = utcnow()
    if account.locked_until is not None and account.locked_until > now:
        return SignInAttempt("locked", account)
    if account.check_password(password) and account.is_active:
        account.failed_logins = 0
        account.locked_until = None
        return SignInAttempt("ok", account)
    account.failed_logins += 1
    if account.failed_logins >= lock_after:
        account.locked_until = now + timedelta(minutes=LOCK_MINUTES)
        account.failed_logins = 0
    return SignInAttempt("wrong", account)
