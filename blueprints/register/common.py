"""What every register view needs: who is selling, the tablet's drawer, manager approvals."""

from datetime import timedelta

from flask import current_app, session

from blueprints.access import acting_staff, current_store
from blueprints.ratelimits import approval_allowed, count_approval_failure
from extensions import db
from models.base import utcnow
from models.infra import audit
from models.infra.numbers import parse_id
from models.people.register_pins import try_pin
from models.people.users import User, managers_on_duty
from models.sales.cash_drawer import CashDrawer, usable_drawer


def current_operator() -> User:
    """Return the budtender running the register: whoever last entered a PIN (acting_staff)."""
    return acting_staff()


def tablet_drawer() -> CashDrawer | None:
    """Return the open cash drawer this tablet uses, if any."""
    return usable_drawer(current_store(), session.get("drawer_id"))


def tablet_has_drawer() -> bool:
    """Say whether this tablet opened or took a drawer (without reading it)."""
    return bool(session.get("drawer_id"))


class ApprovalRefused(ValueError):
    """A manager's approval that did not hold, with the message for the form and the status."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


def managers_here() -> list[User]:
    """Return the managers of this store on duty, who may approve (see managers_on_duty)."""
    config = current_app.config
    return managers_on_duty(
        current_store(),
        idle=timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
        absolute=timedelta(hours=config["SESSION_ABSOLUTE_HOURS"]),
        now=utcnow(),
    )


def approve(manager_id: str | None, pin: str | None) -> User | None:
    """Check a manager's PIN; None when none was given, ApprovalRefused when it is wrong.

    Only a manager on duty here approves; tries are limited per tablet and manager (like PIN
    switching), on top of the manager's own PIN lock.
    """
    if not manager_id and not pin:
        return None
    store = current_store()
    wanted = parse_id(manager_id)
    manager = db.session.get(User, wanted) if wanted else None
    if manager is None or manager not in managers_here():
        raise ApprovalRefused("Choose the manager who approves.")
    if not pin:
        raise ApprovalRefused(f"{manager.first_name} must enter their PIN.")
    if not approval_allowed(manager.id):
        raise ApprovalRefused(
            f"Too many wrong tries for {manager.first_name}'s PIN on this register. "
            "Wait a minute and try again.",
            status=429,
        )
    config = current_app.config
    result = try_pin(manager, pin, config["PIN_LOCK_AFTER"], config["PIN_LOCK_MINUTES"])
    if not result.ok:
        count_approval_failure()
        audit.record("register.approval_pin_failed", store_id=store.id, user_id=manager.id)
        db.session.commit()
        raise ApprovalRefused(result.message)
    return manager
