"""Checking register PINs with a per-budtender lock after repeated failures."""

from dataclasses import dataclass
from datetime import timedelta

from extensions import db
from models.base import utcnow
from models.people.users import User


@dataclass(frozen=True)
class PinResult:
    """The outcome of a PIN attempt and what to tell the budtender."""

    ok: bool
    message: str = ""


def try_pin(user: User, pin: str, lock_after: int, lock_minutes: int) -> PinResult:
    """Check a PIN; lock the budtender's PIN after `lock_after` failures in a row.

    The budtender's row stays locked until the caller commits, so PINs tried in parallel (many
    tablets, or one script) are counted one after another and cannot get past the lock.
    """
    db.session.refresh(user, ["pin_hash", "pin_failures", "pin_locked_until"], with_for_update=True)
    now = utcnow()
    if user.pin_locked_until is not None and user.pin_locked_until > now:
        minutes = max(1, int((user.pin_locked_until - now).total_seconds() // 60) + 1)
        return PinResult(
            False,
            f"{user.first_name}'s PIN is locked after too many wrong tries. "
            f"Try again in {minutes} min or ask a manager.",
        )
    if user.pin_hash is None or not user.check_pin(pin):
        user.pin_failures += 1
        if user.pin_failures >= lock_after:
            user.pin_failures = 0
            user.pin_locked_until = now + timedelta(minutes=lock_minutes)
            return PinResult(
                False, f"Wrong PIN. {user.first_name}'s PIN is now locked for {lock_minutes} min."
            )
        left = lock_after - user.pin_failures
        return PinResult(False, f"Wrong PIN. {left} tr{'y' if left == 1 else 'ies'} left.")
    user.pin_failures = 0
    user.pin_locked_until = None
    return PinResult(True)
